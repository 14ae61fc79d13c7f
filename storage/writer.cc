// Writer: appends into the three arrays of each section, grows them in place, and commits
// through the two header slots. The protocol and why each step is crash-safe are in
// storage/FORMAT.md ("Commit protocol", "Growth", "Fallback"); the comments in these files name
// the rule each step follows. This file: opening and recovery, sections, commits, Seal, header
// writes, checksums and the public Writer methods; storage/internal/writer_impl.h lists the others.
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/crc32c.h"
#include "storage/internal/format.h"
#include "storage/internal/writer_impl.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

using internal::kDataStart;
using internal::kKeySize;
using internal::kSlotSize;
using internal::RoundUpToBlock;

namespace {

constexpr uint64_t kCrcChunk = 4 << 20;  // Bytes read per pread by Seal's CRCs.

}  // namespace

Writer::Impl::Impl(std::string path, std::unique_ptr<File> file, const WriterOptions& options)
    : path_(std::move(path)),
      file_(std::move(file)),
      options_(options),
      move_chunk_(RoundUpToBlock(std::max<uint64_t>(options.move_chunk_size, 1))) {
  use_fallocate_ranges_ = !options.force_fallback;
}

absl::Status Writer::Impl::InitializeNew() {
  absl::Status status = file_->Truncate(kDataStart);
  if (!status.ok()) return Fail(status);
  file_size_ = kDataStart;
  // Both slots valid from the start, so that a damaged slot is always detectable.
  for (int i = 0; i < internal::kSlotCount; ++i) {
    status = WriteHeader(View(/*committed=*/true));
    if (!status.ok()) return Fail(status);
  }
  return absl::OkStatus();
}

absl::Status Writer::Impl::Recover(bool update) {
  absl::StatusOr<uint64_t> size = file_->Size();
  if (!size.ok()) return size.status();
  file_size_ = *size;
  if (file_size_ < kDataStart) {
    return absl::DataLossError(absl::StrCat(path_, ": ", file_size_,
                                            " bytes, smaller than the header region: "
                                            "not a flatpyramid store, or truncated"));
  }
  std::string slots(kDataStart, '\0');
  absl::Status status = file_->Read(0, slots.size(), &slots[0]);
  if (!status.ok()) return status;
  absl::Status slot_errors[internal::kSlotCount];
  absl::StatusOr<Header> header =
      internal::NewestHeader(absl::string_view(slots).substr(0, kSlotSize),
                             absl::string_view(slots).substr(kSlotSize), slot_errors);
  if (!header.ok()) return Annotate(header.status());
  if (header->sealed() && !update) {
    return absl::FailedPreconditionError(
        path_ + ": the file is sealed; change it with Writer::OpenForUpdate");
  }
  if (!header->sealed() && update) {
    return absl::FailedPreconditionError(
        path_ + ": the file is not sealed; continue it with Writer::OpenForAppend");
  }
  updating_ = update;
  layout_ = *std::move(header);
  generation_ = layout_.generation();
  meta_type_ = committed_meta_type_ = layout_.user_metadata_type();
  meta_ = committed_meta_ = layout_.user_metadata();
  sections_.resize(layout_.sections_size());
  for (int s = 0; s < layout_.sections_size(); ++s) {
    SectionRuntime& runtime = sections_[s];
    runtime.flushed_entries = runtime.committed_entries = layout_.sections(s).entry_count();
    runtime.committed_values_length = runtime.values_flushed = layout_.sections(s).values_length();
  }
  const PendingMove move = layout_.pending();
  bool punch_room = false;
  status = ResolvePendingMove(move, &punch_room);
  if (!status.ok()) return status;
  layout_.clear_pending();
  status = internal::ValidateLayout(layout_, file_size_);
  if (!status.ok()) return Annotate(status);
  status = LoadLastKeys();
  if (!status.ok()) return status;
  // A clean header (no pending move) first, so that dropping bytes past the last array
  // (left by a move that never happened) is not a change any header describes.
  status = SyncIfMoved();
  if (status.ok()) status = WriteHeader(View(/*committed=*/true));
  // The room of a finished tail copy still holds stale bytes of the tail.
  if (status.ok() && punch_room) status = PunchIfSupported(move.offset(), move.length());
  if (!status.ok()) return Fail(status);
  const uint64_t end = LayoutEnd();
  if (file_size_ > end) {
    status = file_->Truncate(end);
    if (!status.ok()) return Fail(status);
    file_size_ = end;
    layout_moved_since_sync_ = true;
  }
  return absl::OkStatus();
}

absl::Status Writer::Impl::LoadLastKeys() {
  for (int s = 0; s < layout_.sections_size(); ++s) {
    const Section& section = layout_.sections(s);
    SectionRuntime& runtime = sections_[s];
    if (section.entry_count() > 0) {
      char key[kKeySize];
      absl::Status status = file_->Read(
          section.keys().offset() + (section.entry_count() - 1) * kKeySize, kKeySize, key);
      if (!status.ok()) return status;
      runtime.last_key = absl::little_endian::Load64(key);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Writer::Impl::AddSection(absl::string_view name,
                                                  const SectionCapacity& capacity) {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  if (name.empty()) return absl::InvalidArgumentError("AddSection: empty section name");
  if (FindSection(name).has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(path_, ": section '", name, "' exists"));
  }
  // The table must still fit in a slot once the section is in it.
  Header probe = View(/*committed=*/true);
  probe.add_sections()->set_name(std::string(name));
  if (absl::StatusOr<std::string> encoded = internal::EncodeSlot(probe); !encoded.ok()) {
    return encoded.status();
  }
  // Extending the file must not race a recorded move (its size check would then fail).
  absl::Status status = absl::OkStatus();
  if (disk_has_pending_) {
    status = SyncIfMoved();
    if (status.ok()) status = WriteHeader(View(/*committed=*/true));
    if (!status.ok()) return Fail(status);
  }
  Section* section = layout_.add_sections();
  section->set_name(std::string(name));
  if (updating_) section->set_state(SECTION_SEALED);  // Its CRCs are set by every commit.
  uint64_t offset = file_size_;
  const uint64_t capacities[] = {RoundUpToBlock(std::max<uint64_t>(capacity.keys, 1)),
                                 RoundUpToBlock(std::max<uint64_t>(capacity.locations, 1)),
                                 RoundUpToBlock(std::max<uint64_t>(capacity.values, 1))};
  for (int i = 0; i < 3; ++i) {
    ArrayExtent* extent = internal::MutableArray(section, kArrayKinds[i]);
    extent->set_offset(offset);
    extent->set_capacity(capacities[i]);
    offset += capacities[i];
  }
  sections_.emplace_back();
  sections_.back().running_crcs_valid = true;  // Empty: every byte will be appended here.
  status = file_->Truncate(offset);            // The new room is a hole.
  if (!status.ok()) return Fail(status);
  file_size_ = offset;
  status = Sync();  // The new size before a header that names it (sync_each_step).
  if (status.ok()) status = WriteHeader(View(/*committed=*/true));
  if (!status.ok()) return Fail(status);
  layout_moved_since_sync_ = false;
  return static_cast<uint32_t>(layout_.sections_size() - 1);
}

std::optional<uint32_t> Writer::Impl::FindSection(absl::string_view name) const {
  for (int s = 0; s < layout_.sections_size(); ++s) {
    if (layout_.sections(s).name() == name) return static_cast<uint32_t>(s);
  }
  return std::nullopt;
}

absl::Status Writer::Impl::CheckSection(uint32_t section) const {
  if (section >= sections_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": no section ", section, " (", sections_.size(), " sections)"));
  }
  return absl::OkStatus();
}

uint64_t Writer::Impl::ValuesLength(uint32_t section) const {
  if (section >= sections_.size()) return 0;
  return layout_.sections(section).values_length();
}

std::optional<uint64_t> Writer::Impl::LastKey(uint32_t section) const {
  if (section >= sections_.size()) return std::nullopt;
  return sections_[section].last_key;
}

uint64_t Writer::Impl::EntryCount(uint32_t section) const {
  if (section >= sections_.size()) return 0;
  return layout_.sections(section).entry_count();
}

void Writer::Impl::SetUserMetadata(absl::string_view type_name, std::string bytes) {
  meta_type_ = std::string(type_name);
  meta_ = std::move(bytes);
}

absl::Status Writer::Impl::Commit() {
  if (absl::Status status = CheckUsable(); !status.ok()) return status;
  // Refuse an oversized header before touching the file, so the caller can shrink it.
  if (absl::StatusOr<std::string> encoded = internal::EncodeSlot(View(false)); !encoded.ok()) {
    return encoded.status();
  }
  absl::Status status = FlushAllBuffers();
  absl::StatusOr<Header> next = Header();
  if (status.ok()) next = CommitView();
  if (status.ok()) status = next.status();
  // Data first, then the slot that points at it (FORMAT.md, "Commit protocol").
  if (status.ok()) status = Sync();
  if (status.ok()) status = WriteHeader(*next);
  if (!status.ok()) return Fail(status);
  layout_ = *std::move(next);  // Replaced indexes now start at their bases.
  for (int s = 0; s < layout_.sections_size(); ++s) {
    SectionRuntime& runtime = sections_[s];
    runtime.committed_entries = layout_.sections(s).entry_count();
    runtime.committed_values_length = layout_.sections(s).values_length();
    runtime.replacing = false;
    runtime.key_base = runtime.location_base = 0;
  }
  committed_meta_type_ = meta_type_;
  committed_meta_ = meta_;
  return absl::OkStatus();
}

absl::Status Writer::Impl::Seal() {
  absl::Status status = Commit();
  if (!status.ok()) return status;
  if (updating_) {  // The commit set the checksums (extended over what it added).
    status = RemoveRoom();
    if (!status.ok()) return Fail(status);
  } else {
    // Checksums over the used bytes of every array, before the trims: the trims move bytes
    // without changing them, and a move (fallocate COLLAPSE_RANGE) drops the moved range
    // from the page cache, which a later read would fetch from the disk again.
    absl::StatusOr<std::vector<std::array<uint32_t, 3>>> crcs = UsedBytesCrcs();
    if (!crcs.ok()) return Fail(crcs.status());
    status = RemoveRoom();
    if (!status.ok()) return Fail(status);
    for (int s = 0; s < layout_.sections_size(); ++s) {
      Section* section = layout_.mutable_sections(s);
      for (int i = 0; i < 3; ++i) SetCrc(section, kArrayKinds[i], (*crcs)[s][i]);
      section->set_state(SECTION_SEALED);
    }
    layout_.set_sealed(true);
  }
  final_syncs_ = true;
  status = Sync();
  // The sealed header goes into both slots, so a damaged slot never exposes an older layout.
  for (int i = 0; status.ok() && i < internal::kSlotCount; ++i) {
    status = WriteHeader(View(/*committed=*/false));
  }
  if (!status.ok()) return Fail(status);
  sealed_ = true;
  return absl::OkStatus();
}

absl::Status Writer::Impl::Annotate(const absl::Status& status) const {
  return absl::Status(status.code(), absl::StrCat(path_, ": ", status.message()));
}

absl::Status Writer::Impl::WhileDoing(const absl::Status& status, absl::string_view doing) {
  return absl::Status(status.code(), absl::StrCat(doing, ": ", status.message()));
}

absl::Status Writer::Impl::CheckUsable() const {
  if (!failed_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": the writer stopped after an earlier error (", failed_.message(),
                     "); the file is at its last commit: reopen it with Writer::",
                     updating_ ? "OpenForUpdate" : "OpenForAppend"));
  }
  if (sealed_) return absl::FailedPreconditionError(path_ + ": the writer has sealed the file");
  return absl::OkStatus();
}

absl::Status Writer::Impl::WriteFile(uint64_t offset, absl::string_view data) {
  stats_.bytes_written += data.size();
  return file_->Write(offset, data);
}

absl::Status Writer::Impl::Fail(const absl::Status& status) {
  if (failed_.ok()) failed_ = status;
  return status;
}

absl::Status Writer::Impl::Sync() {
  if (!options_.sync_each_step && !final_syncs_) {
    layout_moved_since_sync_ = false;  // Ordered enough: nobody reopens this file if lost.
    return absl::OkStatus();
  }
  ++stats_.syncs;
  absl::Status status = file_->SyncData();
  if (status.ok()) layout_moved_since_sync_ = false;
  return status;
}

absl::Status Writer::Impl::SyncIfMoved() {
  return layout_moved_since_sync_ ? Sync() : absl::OkStatus();
}

void Writer::Impl::SetCrc(Section* section, ArrayKind kind, uint32_t crc) {
  switch (kind) {
    case ARRAY_KEYS:
      section->set_keys_crc32c(crc);
      break;
    case ARRAY_LOCATIONS:
      section->set_locations_crc32c(crc);
      break;
    case ARRAY_VALUES:
      section->set_values_crc32c(crc);
      break;
    default:
      break;
  }
}

Header Writer::Impl::View(bool committed) const {
  Header header = layout_;
  header.clear_pending();
  if (committed) {
    for (int s = 0; s < header.sections_size(); ++s) {
      header.mutable_sections(s)->set_entry_count(sections_[s].committed_entries);
      header.mutable_sections(s)->set_values_length(sections_[s].committed_values_length);
    }
    header.set_user_metadata_type(committed_meta_type_);
    header.set_user_metadata(committed_meta_);
  } else {
    header.set_user_metadata_type(meta_type_);
    header.set_user_metadata(meta_);
  }
  return header;
}

absl::Status Writer::Impl::WriteHeader(Header header) {
  header.set_magic(internal::kHeaderMagic);
  header.set_format_major(internal::kFormatMajor);
  header.set_format_minor(internal::kFormatMinor);
  header.set_generation(generation_ + 1);
  absl::StatusOr<std::string> slot = internal::EncodeSlot(header);
  if (!slot.ok()) return slot.status();
  absl::Status status = WriteFile((header.generation() % internal::kSlotCount) * kSlotSize, *slot);
  if (!status.ok()) return status;
  ++stats_.header_writes;
  ++generation_;
  disk_has_pending_ = header.pending().kind() != PendingMove::KIND_NONE;
  return Sync();
}

uint64_t Writer::Impl::LayoutEnd() const {
  uint64_t end = kDataStart;
  for (const Section& section : layout_.sections()) {
    for (ArrayKind kind : kArrayKinds) {
      const ArrayExtent& extent = internal::Array(section, kind);
      end = std::max(end, extent.offset() + extent.capacity());
    }
  }
  return end;
}

absl::StatusOr<std::vector<std::array<uint32_t, 3>>> Writer::Impl::UsedBytesCrcs() {
  std::vector<std::array<uint32_t, 3>> crcs(layout_.sections_size());
  std::string buffer;
  std::unique_ptr<MappedRegion> map;  // Mapped for the first section without running CRCs.
  for (int s = 0; s < layout_.sections_size(); ++s) {
    if (sections_[s].running_crcs_valid) {
      crcs[s] = sections_[s].running_crcs;
      continue;
    }
    if (map == nullptr) {
      absl::StatusOr<std::unique_ptr<MappedRegion>> mapped = file_->Map(file_size_);
      if (mapped.ok()) map = *std::move(mapped);
    }
    for (int i = 0; i < 3; ++i) {
      const ArrayKind kind = kArrayKinds[i];
      absl::StatusOr<uint32_t> crc =
          FileCrc(internal::Array(layout_.sections(s), kind).offset(),
                  internal::UsedBytes(layout_.sections(s), kind), map.get(), &buffer);
      if (!crc.ok()) return crc.status();
      crcs[s][i] = *crc;
    }
  }
  return crcs;
}

absl::StatusOr<uint32_t> Writer::Impl::FileCrc(uint64_t offset, uint64_t length,
                                               const MappedRegion* map, std::string* buffer,
                                               uint32_t crc) {
  if (map != nullptr) {
    map->Advise(offset, length, AccessPattern::kSequential);
    return internal::Crc32cExtend(crc, map->data().data() + offset, length);
  }
  buffer->resize(std::min<uint64_t>(length, kCrcChunk));
  while (length > 0) {
    const size_t n = std::min<uint64_t>(length, kCrcChunk);
    absl::Status status = file_->Read(offset, n, &(*buffer)[0]);
    if (!status.ok()) return status;
    crc = internal::Crc32cExtend(crc, buffer->data(), n);
    offset += n;
    length -= n;
  }
  return crc;
}

namespace {

absl::StatusOr<std::unique_ptr<File>> OpenLocked(Env* env, const std::string& path, OpenMode mode) {
  absl::StatusOr<std::unique_ptr<File>> file = env->Open(path, mode);
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->TryLock(LockMode::kExclusive);
  if (absl::IsUnavailable(status)) {
    // Readers hold shared locks, writers the exclusive one: a shared lock we can take says
    // that only readers are in the way.
    if ((*file)->TryLock(LockMode::kShared).ok()) {
      return absl::UnavailableError(
          path +
          ": in use by a reader (it holds a shared lock); close the programs reading it, "
          "then retry");
    }
    return absl::UnavailableError(
        path +
        ": being written by another writer (it holds the exclusive lock); one writer "
        "per file");
  }
  if (!status.ok()) return status;
  return file;
}

}  // namespace

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::~Writer() = default;

absl::StatusOr<std::unique_ptr<Writer>> Writer::Create(const std::string& path,
                                                       const WriterOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  absl::StatusOr<std::unique_ptr<File>> file = OpenLocked(
      env, path, options.overwrite ? OpenMode::kCreateOrOpen : OpenMode::kCreateExclusive);
  if (!file.ok()) {
    if (absl::IsAlreadyExists(file.status())) {
      return absl::AlreadyExistsError(path +
                                      ": exists; pass WriterOptions::overwrite to replace it");
    }
    return file.status();
  }
  if (options.overwrite) {
    // Truncate only once the lock is ours: a reader's map must not lose its pages.
    absl::Status status = (*file)->Truncate(0);
    if (!status.ok()) return status;
  }
  auto impl = std::make_unique<Impl>(path, *std::move(file), options);
  absl::Status status = impl->InitializeNew();
  if (!status.ok()) return status;
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::Reopen(const std::string& path,
                                                       const WriterOptions& options, bool update) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  absl::StatusOr<std::unique_ptr<File>> file = OpenLocked(env, path, OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  auto impl = std::make_unique<Impl>(path, *std::move(file), options);
  absl::Status status = impl->Recover(update);
  if (!status.ok()) return status;
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::OpenForAppend(const std::string& path,
                                                              const WriterOptions& options) {
  return Reopen(path, options, /*update=*/false);
}

absl::StatusOr<std::unique_ptr<Writer>> Writer::OpenForUpdate(const std::string& path,
                                                              const WriterOptions& options) {
  return Reopen(path, options, /*update=*/true);
}

absl::StatusOr<uint32_t> Writer::AddSection(absl::string_view name) {
  const WriterOptions& options = impl_->options();
  return impl_->AddSection(name, {options.initial_key_capacity, options.initial_location_capacity,
                                  options.initial_value_capacity});
}
absl::StatusOr<uint32_t> Writer::AddSection(absl::string_view name,
                                            const SectionCapacity& capacity) {
  return impl_->AddSection(name, capacity);
}
std::optional<uint32_t> Writer::FindSection(absl::string_view name) const {
  return impl_->FindSection(name);
}
absl::StatusOr<ValueRef> Writer::Append(uint32_t section, uint64_t key, absl::string_view value) {
  return impl_->Append(section, key, value);
}
absl::Status Writer::AppendShared(uint32_t section, uint64_t key, ValueRef existing) {
  return impl_->AppendShared(section, key, existing);
}
absl::Status Writer::ReplaceEntries(uint32_t section) { return impl_->ReplaceEntries(section); }
absl::StatusOr<std::vector<Entry>> Writer::ReadCommittedEntries(uint32_t section) {
  return impl_->ReadCommittedEntries(section);
}
absl::StatusOr<std::string> Writer::ReadValue(uint32_t section, ValueRef ref) {
  return impl_->ReadValue(section, ref);
}
absl::StatusOr<ValueRef> Writer::AppendValuesFrom(uint32_t section, const Reader& source,
                                                  uint32_t source_section, ValueRef range) {
  absl::StatusOr<Reader::ValueBytesInFile> bytes = source.LocateValues(source_section, range);
  if (!bytes.ok()) return bytes.status();
  return impl_->AppendValueBytes(section, bytes->file, bytes->offset, range.length);
}
uint64_t Writer::values_length(uint32_t section) const { return impl_->ValuesLength(section); }
std::optional<uint64_t> Writer::LastKey(uint32_t section) const { return impl_->LastKey(section); }
uint64_t Writer::entry_count(uint32_t section) const { return impl_->EntryCount(section); }
void Writer::SetUserMetadata(absl::string_view type_name, std::string bytes) {
  impl_->SetUserMetadata(type_name, std::move(bytes));
}
absl::Status Writer::Commit() { return impl_->Commit(); }
absl::Status Writer::Seal() { return impl_->Seal(); }
const WriterStats& Writer::stats() const { return impl_->stats(); }
bool Writer::uses_insert_range() const { return impl_->uses_insert_range(); }

}  // namespace storage
}  // namespace flatpyramid
