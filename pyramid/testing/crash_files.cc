#include "pyramid/testing/crash_files.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "storage/store.h"

namespace flatpyramid {
namespace test {

absl::StatusOr<std::unique_ptr<storage::File>> SplitEnv::Open(const std::string& path,
                                                              storage::OpenMode mode) {
  return For(path)->Open(path, mode);
}
absl::StatusOr<storage::FileInfo> SplitEnv::Stat(const std::string& path) {
  return For(path)->Stat(path);
}
absl::Status SplitEnv::RenameFile(const std::string& from, const std::string& to) {
  return For(from)->RenameFile(from, to);
}
absl::Status SplitEnv::RemoveFile(const std::string& path) { return For(path)->RemoveFile(path); }
absl::StatusOr<std::vector<std::string>> SplitEnv::GetChildren(const std::string& dir) {
  return For(dir)->GetChildren(dir);
}
absl::Status SplitEnv::SyncDirectory(const std::string& dir) {
  return For(dir)->SyncDirectory(dir);
}
storage::Env* SplitEnv::For(const std::string& path) {
  return absl::StartsWith(path, dir_) ? faults_ : storage::Env::Default();
}

absl::StatusOr<PyramidContent> ReadPyramidContent(storage::Env* env, const std::string& path) {
  storage::ReaderOptions options;
  options.env = env;
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(path, options);
  if (!reader.ok()) return reader.status();
  if (absl::Status verified = (*reader)->Verify();
      !verified.ok() && !absl::StrContains(verified.message(), "torn write")) {
    return verified;
  }
  pyramid::PyramidMetadata metadata;
  if (!(*reader)->sealed() || (*reader)->user_metadata_type() != pyramid::kMetadataTypeName ||
      !metadata.ParseFromString(std::string((*reader)->user_metadata()))) {
    return absl::DataLossError(absl::StrCat(path, ": not a sealed pyramid"));
  }
  metadata.clear_created_utc();
  PyramidContent content;
  content.metadata = metadata.DebugString();
  for (uint32_t s = 0; s < (*reader)->section_count(); ++s) {
    auto& entries = content.sections[std::string((*reader)->section_name(s))];
    for (uint64_t i = 0; i < (*reader)->entry_count(s); ++i) {
      entries.push_back({(*reader)->KeyAt(s, i), std::string((*reader)->ValueAt(s, i))});
    }
  }
  return content;
}

}  // namespace test
}  // namespace flatpyramid
