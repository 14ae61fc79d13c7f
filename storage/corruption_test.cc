// Hostile and damaged files: thousands of mutated copies of valid sealed files (bit flips,
// truncation, zeroed 4 KiB blocks, random header fields re-signed with a valid CRC) are opened,
// fully read and verified. Runs under --config=asan: the map is a heap buffer, so any read
// outside it is caught. Every change to a checksummed byte must be reported by Open or Verify.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/header.pb.h"
#include "storage/internal/crc32c.h"
#include "storage/internal/format.h"
#include "storage/store.h"
#include "storage/testing/fault_injection_env.h"

namespace flatpyramid {
namespace storage {
namespace {

using test::FaultInjectionEnv;

constexpr char kPath[] = "/corrupt/store.fpyr";

// Builds a sealed file in `env` at kPath: `sections` sections with varied entries.
void BuildFile(FaultInjectionEnv* env, int sections, int entries, uint64_t seed) {
  WriterOptions options;
  options.env = env;
  options.initial_key_capacity = 4096;
  options.initial_location_capacity = 4096;
  options.initial_value_capacity = 4096;
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(kPath, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::mt19937_64 random(seed);
  for (int s = 0; s < sections; ++s) {
    ASSERT_TRUE((*writer)->AddSection(absl::StrCat("z", s)).ok());
  }
  std::vector<uint64_t> key(sections, 0);
  for (int i = 0; i < entries; ++i) {
    const uint32_t s = static_cast<uint32_t>(random() % sections);
    key[s] += 1 + random() % 5;
    std::string value(random() % 3000, '\0');
    for (char& c : value) c = static_cast<char>(random());
    ASSERT_TRUE((*writer)->Append(s, key[s], value).ok());
  }
  (*writer)->SetUserMetadata("test.Meta", "hello");
  ASSERT_TRUE((*writer)->Seal().ok());
}

// Reads everything a Reader exposes; returns Open's or Verify's status.
absl::Status OpenAndReadEverything(FaultInjectionEnv* env, uint64_t seed) {
  ReaderOptions options;
  options.env = env;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, options);
  if (!reader.ok()) return reader.status();
  const Reader& r = **reader;
  std::mt19937_64 random(seed);
  uint64_t checksum = 0;
  for (uint32_t s = 0; s < r.section_count(); ++s) {
    checksum += r.section_name(s).size();
    const uint64_t count = r.entry_count(s);
    for (uint64_t i = 0; i < count; ++i) {
      checksum += r.KeyAt(s, i);
      const absl::string_view value = r.ValueAt(s, i);
      for (char c : value) checksum += static_cast<unsigned char>(c);
    }
    for (int probe = 0; probe < 16; ++probe) {
      const uint64_t key = random() % 4096;
      const std::optional<absl::string_view> value = r.Get(s, key);
      if (value.has_value()) checksum += value->size();
      checksum += r.LowerBound(s, key);
    }
  }
  checksum += r.user_metadata().size() + r.user_metadata_type().size();
  ::testing::Test::RecordProperty("bytes_read_checksum", std::to_string(checksum));
  return r.Verify();
}

struct Range {
  uint64_t begin, end;
};

// The checksummed byte ranges of a sealed file: both slots' prefix + payload, and the used
// bytes of every array.
std::vector<Range> ChecksummedRanges(const std::string& bytes) {
  std::vector<Range> ranges;
  Header header;
  for (int slot = 0; slot < internal::kSlotCount; ++slot) {
    const uint64_t at = slot * internal::kSlotSize;
    const uint32_t length = absl::little_endian::Load32(bytes.data() + at + 12);
    ranges.push_back({at, at + internal::kSlotPrefixSize + length});
    if (slot == 0) header.ParseFromArray(bytes.data() + at + 32, static_cast<int>(length));
  }
  for (const Section& section : header.sections()) {
    ranges.push_back(
        {section.keys().offset(), section.keys().offset() + section.entry_count() * 8});
    ranges.push_back(
        {section.locations().offset(), section.locations().offset() + section.entry_count() * 16});
    ranges.push_back(
        {section.values().offset(), section.values().offset() + section.values_length()});
  }
  return ranges;
}

bool ChecksummedBytesDiffer(const std::string& original, const std::string& mutated,
                            const std::vector<Range>& ranges) {
  for (const Range& range : ranges) {
    for (uint64_t i = range.begin; i < range.end; ++i) {
      if (i >= mutated.size() || original[i] != mutated[i]) return true;
    }
  }
  return false;
}

// Rewrites both slots with `header`, re-signed (valid CRC), so only semantic checks can object.
void ResignHeader(const Header& header, std::string* bytes) {
  for (int slot = 0; slot < internal::kSlotCount; ++slot) {
    Header copy = header;
    copy.set_generation(header.generation() - (header.generation() % 2) + slot);
    absl::StatusOr<std::string> encoded = internal::EncodeSlot(copy);
    if (!encoded.ok()) return;
    bytes->replace(slot * internal::kSlotSize, encoded->size(), *encoded);
  }
}

Header DecodeNewest(const std::string& bytes) {
  absl::Status errors[internal::kSlotCount];
  absl::StatusOr<Header> header = internal::NewestHeader(
      absl::string_view(bytes).substr(0, internal::kSlotSize),
      absl::string_view(bytes).substr(internal::kSlotSize, internal::kSlotSize), errors);
  return header.ok() ? *header : Header();
}

uint64_t HostileNumber(std::mt19937_64& random, uint64_t near) {
  switch (random() % 6) {
    case 0:
      return 0;
    case 1:
      return ~uint64_t{0} - random() % 4096;
    case 2:
      return near + (random() % 3 - 1) * 4096;
    case 3:
      return near * 2 + 4096;
    case 4:
      return uint64_t{1} << (random() % 64);
    default:
      return random();
  }
}

void MutateHeaderField(std::mt19937_64& random, std::string* bytes) {
  Header header = DecodeNewest(*bytes);
  if (header.sections_size() == 0) return;
  Section* section = header.mutable_sections(random() % header.sections_size());
  ArrayExtent* extent = random() % 3 == 0   ? section->mutable_keys()
                        : random() % 2 == 0 ? section->mutable_locations()
                                            : section->mutable_values();
  switch (random() % 9) {
    case 0:
      extent->set_offset(HostileNumber(random, extent->offset()));
      break;
    case 1:
      extent->set_capacity(HostileNumber(random, extent->capacity()));
      break;
    case 2:
      section->set_entry_count(HostileNumber(random, section->entry_count()));
      break;
    case 3:
      section->set_values_length(HostileNumber(random, section->values_length()));
      break;
    case 4:
      *extent = header.sections(random() % header.sections_size()).values();  // Overlap.
      break;
    case 5: {
      PendingMove* move = header.mutable_pending();
      move->set_kind(static_cast<PendingMove::Kind>(random() % 5));
      move->set_section(static_cast<uint32_t>(random() % 4));
      move->set_array(static_cast<ArrayKind>(random() % 3));
      move->set_offset(HostileNumber(random, extent->offset() + extent->capacity()));
      move->set_length(HostileNumber(random, 4096));
      move->set_file_size_before(HostileNumber(random, bytes->size()));
      move->set_progress(HostileNumber(random, bytes->size()));
      break;
    }
    case 6:
      header.set_format_major(static_cast<uint32_t>(random() % 3));
      break;
    case 7:
      header.set_sealed(!header.sealed());
      break;
    default:
      section->set_name(std::string(random() % 40, 'x'));
      break;
  }
  ResignHeader(header, bytes);
}

TEST(CorruptionTest, ThousandsOfMutatedFilesNeverCrashAndChecksummedDamageIsReported) {
  int reported = 0;
  int mutations = 0;
  for (int file = 0; file < 3; ++file) {
    FaultInjectionEnv env;
    BuildFile(&env, 1 + file * 3, 40 + file * 100, file);
    if (::testing::Test::HasFatalFailure()) return;
    const std::string original = env.Contents(kPath);
    ASSERT_TRUE(OpenAndReadEverything(&env, 0).ok());
    const std::vector<Range> ranges = ChecksummedRanges(original);
    std::mt19937_64 random(1000 + file);
    for (int i = 0; i < 1500; ++i) {
      std::string mutated = original;
      const int kind = i % 4;
      switch (kind) {
        case 0: {  // Bit flips, half of them aimed at the header region.
          const int flips = 1 + static_cast<int>(random() % 4);
          for (int f = 0; f < flips; ++f) {
            const uint64_t at =
                random() % 2 == 0 ? random() % internal::kDataStart : random() % mutated.size();
            mutated[at] = static_cast<char>(mutated[at] ^ (1 << (random() % 8)));
          }
          break;
        }
        case 1:  // Truncation.
          mutated.resize(random() % mutated.size());
          break;
        case 2: {  // A zeroed 4 KiB block.
          const uint64_t block = random() % (mutated.size() / 4096);
          std::fill_n(mutated.begin() + block * 4096, 4096, '\0');
          break;
        }
        default:
          MutateHeaderField(random, &mutated);
          break;
      }
      env.SetContents(kPath, mutated);
      const absl::Status status = OpenAndReadEverything(&env, i);
      ++mutations;
      if (!status.ok()) {
        ++reported;
        EXPECT_FALSE(status.message().empty());
      }
      if (kind != 3 && ChecksummedBytesDiffer(original, mutated, ranges)) {
        ASSERT_FALSE(status.ok()) << "file " << file << " mutation " << i << " kind " << kind
                                  << " changed checksummed bytes unnoticed";
      }
    }
  }
  EXPECT_EQ(mutations, 4500);
  EXPECT_GT(reported, 2000);
}

TEST(CorruptionTest, HostileHeadersAreRefusedWithClearErrors) {
  FaultInjectionEnv env;
  BuildFile(&env, 2, 50, 7);
  if (::testing::Test::HasFatalFailure()) return;
  const std::string original = env.Contents(kPath);
  ReaderOptions options;
  options.env = &env;
  struct Case {
    const char* name;
    std::function<void(Header*)> mutate;
    absl::StatusCode code;
    const char* message;
  } cases[] = {
      {"huge count", [](Header* h) { h->mutable_sections(0)->set_entry_count(1ull << 40); },
       absl::StatusCode::kDataLoss, "exceed its capacity"},
      {"offset past end",
       [](Header* h) { h->mutable_sections(1)->mutable_values()->set_offset(1ull << 40); },
       absl::StatusCode::kDataLoss, "outside the"},
      {"overlap",
       [](Header* h) { *h->mutable_sections(1)->mutable_keys() = h->sections(0).keys(); },
       absl::StatusCode::kDataLoss, "overlaps"},
      {"newer major", [](Header* h) { h->set_format_major(2); },
       absl::StatusCode::kFailedPrecondition, "upgrade flatpyramid"},
      {"unaligned", [](Header* h) { h->mutable_sections(0)->mutable_keys()->set_offset(131073); },
       absl::StatusCode::kDataLoss, "4096-aligned"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bytes = original;
    Header header = DecodeNewest(bytes);
    c.mutate(&header);
    ResignHeader(header, &bytes);
    env.SetContents(kPath, bytes);
    absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, options);
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(reader.status().code(), c.code) << reader.status();
    EXPECT_NE(reader.status().message().find(c.message), std::string::npos) << reader.status();
    EXPECT_NE(reader.status().message().find(kPath), std::string::npos) << reader.status();
  }
  // Wrong magic in both slots.
  std::string bytes = original;
  bytes[0] = 'X';
  bytes[internal::kSlotSize] = 'X';
  env.SetContents(kPath, bytes);
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, options);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("bad magic"), std::string::npos) << reader.status();
}

TEST(CorruptionTest, KeysOutOfOrderAndLocationsOutsideTheBlobAreReportedByVerify) {
  FaultInjectionEnv env;
  BuildFile(&env, 1, 20, 3);
  if (::testing::Test::HasFatalFailure()) return;
  const std::string original = env.Contents(kPath);
  std::string bytes = original;
  Header header = DecodeNewest(bytes);
  const Section& section = header.sections(0);
  // Swap keys 0 and 1, and fix the CRC, so only the order check can object.
  std::string keys = bytes.substr(section.keys().offset(), section.entry_count() * 8);
  std::swap_ranges(keys.begin(), keys.begin() + 8, keys.begin() + 8);
  bytes.replace(section.keys().offset(), keys.size(), keys);
  header.mutable_sections(0)->set_keys_crc32c(internal::Crc32c(keys));
  ResignHeader(header, &bytes);
  env.SetContents(kPath, bytes);
  ReaderOptions options;
  options.env = &env;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const absl::Status status = (*reader)->Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("is not greater than key 0"), std::string::npos) << status;

  // A location past the blob reads as an empty value and Verify names it.
  bytes = original;
  absl::little_endian::Store64(&bytes[section.locations().offset()], 1ull << 50);
  env.SetContents(kPath, bytes);
  reader->reset();
  reader = Reader::Open(kPath, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->ValueAt(0, 0), "");
  EXPECT_NE((*reader)->Verify().message().find("outside its"), std::string::npos)
      << (*reader)->Verify();
}

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
