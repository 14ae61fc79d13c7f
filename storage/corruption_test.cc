// Hostile and damaged files: thousands of mutated copies of valid files, sealed and committed
// but not sealed, with few or many (> 8192, the fence search) keys per section: bit flips,
// truncation, zeroed 4 KiB blocks, random header fields re-signed with a valid CRC. Each is
// opened, fully read and verified. Runs under --config=asan: the map is a heap buffer, so any
// read outside it is caught. Whatever opens must read exactly what its bytes and header say
// (a reference reader built from FORMAT.md checks it); in sealed files every change to a
// checksummed byte must be reported by Open or Verify, and a file that opens and verifies must
// hold the original entries.
#include <algorithm>
#include <functional>
#include <optional>
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

// Builds a file in `env` at kPath: `sections` sections with `entries` varied entries (values
// up to `max_value` bytes), committed halfway and at the end, then sealed if `seal` (unsealed,
// the two slots hold two different commits).
void BuildFile(FaultInjectionEnv* env, int sections, int entries, uint64_t seed, bool seal,
               size_t max_value = 3000) {
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
    std::string value(random() % (max_value + 1), '\0');
    for (char& c : value) c = static_cast<char>(random());
    ASSERT_TRUE((*writer)->Append(s, key[s], value).ok());
    if (i == entries / 2) {
      ASSERT_TRUE((*writer)->Commit().ok());
    }
  }
  (*writer)->SetUserMetadata("test.Meta", "hello");
  ASSERT_TRUE((seal ? (*writer)->Seal() : (*writer)->Commit()).ok());
}

// What a store reads as: per section its name and entries.
struct Content {
  std::vector<std::string> names;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> entries;
};

// What the format says the file holds, read straight from its bytes (keys, locations and values
// loaded at the offsets of the newest valid slot's header, as FORMAT.md section 4 describes),
// independently of Reader. kInvalid: the header does not give a valid layout, so Open must
// fail. kUnmodelled: the header records a move (resolving it needs the file; not modelled).
struct Reference {
  enum { kInvalid, kUnmodelled, kContent } kind = kInvalid;
  Content content;
};

Reference ReferenceRead(const std::string& bytes) {
  Reference reference;
  if (bytes.size() < internal::kDataStart) return reference;
  absl::Status errors[internal::kSlotCount];
  absl::StatusOr<Header> header = internal::NewestHeader(
      absl::string_view(bytes).substr(0, internal::kSlotSize),
      absl::string_view(bytes).substr(internal::kSlotSize, internal::kSlotSize), errors);
  if (!header.ok()) return reference;
  if (header->pending().kind() != PendingMove::KIND_NONE) {
    reference.kind = Reference::kUnmodelled;
    return reference;
  }
  if (!internal::ValidateLayout(*header, bytes.size()).ok()) return reference;
  reference.kind = Reference::kContent;
  for (const Section& section : header->sections()) {
    reference.content.names.push_back(section.name());
    auto& entries = reference.content.entries.emplace_back();
    const char* keys = bytes.data() + section.keys().offset();
    const char* locations = bytes.data() + section.locations().offset();
    for (uint64_t i = 0; i < section.entry_count(); ++i) {
      const uint64_t offset = absl::little_endian::Load64(locations + 16 * i);
      const uint64_t length = absl::little_endian::Load64(locations + 16 * i + 8);
      std::string value;  // A location outside the blob reads as empty.
      if (offset <= section.values_length() && length <= section.values_length() - offset) {
        value = bytes.substr(section.values().offset() + offset, length);
      }
      entries.push_back({absl::little_endian::Load64(keys + 8 * i), std::move(value)});
    }
  }
  return reference;
}

// What a mutated file did: Open's status, Verify's, and where the reads differed from the
// reference (empty: they matched).
struct Outcome {
  absl::Status open;
  absl::Status verify;
  std::string mismatch;
  Content content;  // What the reader showed.
};

// Opens the file, reads everything a Reader exposes (every entry, Get and LowerBound at
// `probes` random keys per section, metadata) and compares it with ReferenceRead.
Outcome OpenAndReadEverything(FaultInjectionEnv* env, uint64_t seed, int probes = 16) {
  Outcome outcome;
  ReaderOptions options;
  options.env = env;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, options);
  outcome.open = reader.status();
  const Reference reference = ReferenceRead(env->Contents(kPath));
  if (!reader.ok()) return outcome;
  if (reference.kind == Reference::kInvalid) {
    outcome.mismatch = "Open accepted a header whose layout is invalid";
    return outcome;
  }
  const Reader& r = **reader;
  std::mt19937_64 random(seed);
  for (uint32_t s = 0; s < r.section_count(); ++s) {
    outcome.content.names.push_back(std::string(r.section_name(s)));
    auto& entries = outcome.content.entries.emplace_back();
    uint64_t max_key = 0;
    for (uint64_t i = 0; i < r.entry_count(s); ++i) {
      entries.push_back({r.KeyAt(s, i), std::string(r.ValueAt(s, i))});
      max_key = std::max(max_key, entries.back().first);
    }
    if (reference.kind != Reference::kContent) continue;
    const auto& expected = reference.content.entries[s];
    if (s >= reference.content.names.size() || reference.content.names[s] != r.section_name(s) ||
        entries != expected) {
      outcome.mismatch = absl::StrCat("section ", s, " reads differ from its bytes");
      return outcome;
    }
    const bool sorted =
        std::is_sorted(expected.begin(), expected.end()) &&
        std::adjacent_find(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
          return a.first == b.first;
        }) == expected.end();
    for (int probe = 0; probe < probes; ++probe) {
      const uint64_t key = random() % (max_key + 2);
      const std::optional<absl::string_view> value = r.Get(s, key);
      const auto at = std::lower_bound(
          expected.begin(), expected.end(), key,
          [](const std::pair<uint64_t, std::string>& e, uint64_t k) { return e.first < k; });
      const bool present = at != expected.end() && at->first == key;
      bool consistent;
      if (sorted) {
        consistent = (present ? value == at->second : !value.has_value()) &&
                     r.LowerBound(s, key) == static_cast<uint64_t>(at - expected.begin());
      } else {
        // Unsorted (corrupt) keys: Get may miss, but what it finds must be an entry's value.
        consistent = !value.has_value();
        for (const auto& [k, v] : expected) consistent = consistent || (k == key && v == *value);
      }
      if (!consistent) {
        outcome.mismatch = absl::StrCat("section ", s, " Get/LowerBound(", key, ") is wrong");
        return outcome;
      }
    }
  }
  if (reference.kind == Reference::kContent &&
      r.section_count() != reference.content.names.size()) {
    outcome.mismatch = "section count differs";
  }
  if (r.user_metadata().size() + r.user_metadata_type().size() > 2 * internal::kSlotSize) {
    outcome.mismatch = "metadata larger than a slot";
  }
  outcome.verify = r.Verify();
  return outcome;
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

// One kind of valid file that the test mutates.
struct CorpusFile {
  const char* name;
  int sections;
  int entries;
  bool sealed;
  size_t max_value;
  int mutations;
  int probes;  // Get/LowerBound probes per section and mutation.
};

TEST(CorruptionTest, MutatedFilesNeverCrashReadWhatTheirBytesSayAndChecksummedDamageIsReported) {
  const CorpusFile files[] = {
      {"sealed, 1 section", 1, 40, true, 3000, 1200, 16},
      {"sealed, 4 sections", 4, 140, true, 3000, 1200, 16},
      {"sealed, 7 sections", 7, 240, true, 3000, 1200, 16},
      {"committed, not sealed, 4 sections", 4, 200, false, 3000, 1000, 16},
      // More than 8192 keys: lookups go through the in-memory fences.
      {"sealed, 9000 keys", 1, 9000, true, 20, 500, 200},
      {"committed, not sealed, 9000 keys", 1, 9000, false, 20, 300, 200},
  };
  int reported = 0;
  int mutations = 0;
  int same_content = 0;
  for (size_t file = 0; file < sizeof(files) / sizeof(files[0]); ++file) {
    const CorpusFile& corpus = files[file];
    SCOPED_TRACE(corpus.name);
    FaultInjectionEnv env;
    BuildFile(&env, corpus.sections, corpus.entries, file, corpus.sealed, corpus.max_value);
    if (::testing::Test::HasFatalFailure()) return;
    const std::string original_bytes = env.Contents(kPath);
    const Outcome original = OpenAndReadEverything(&env, 0, corpus.probes);
    ASSERT_TRUE(original.open.ok() && original.verify.ok() && original.mismatch.empty())
        << original.open << original.verify << original.mismatch;
    const std::vector<Range> ranges = ChecksummedRanges(original_bytes);
    std::mt19937_64 random(1000 + file);
    for (int i = 0; i < corpus.mutations; ++i) {
      std::string mutated = original_bytes;
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
        default:  // A header field set to a hostile value, the slots re-signed.
          MutateHeaderField(random, &mutated);
          break;
      }
      env.SetContents(kPath, mutated);
      const Outcome outcome = OpenAndReadEverything(&env, i, corpus.probes);
      ++mutations;
      SCOPED_TRACE(absl::StrCat("mutation ", i, " kind ", kind));
      // Whatever Open accepts reads exactly what the bytes and the header say.
      ASSERT_TRUE(outcome.mismatch.empty()) << outcome.mismatch;
      const bool noticed = !outcome.open.ok() || !outcome.verify.ok();
      reported += noticed;
      if (!outcome.open.ok()) {
        EXPECT_FALSE(outcome.open.message().empty());
      }
      if (!corpus.sealed) continue;
      // Sealed: damage to a checksummed byte is reported, and a file that opens and verifies
      // holds the original entries, whatever was mutated (header fields included).
      if (kind != 3 && ChecksummedBytesDiffer(original_bytes, mutated, ranges)) {
        ASSERT_TRUE(noticed) << "checksummed bytes changed unnoticed";
      }
      if (!noticed) {
        ASSERT_TRUE(outcome.content.entries == original.content.entries)
            << "a sealed file opened and verified with other entries";
        ++same_content;
      }
    }
  }
  EXPECT_EQ(mutations, 5400);
  EXPECT_GT(reported, 2500);
  EXPECT_GT(same_content, 100);  // Mutations of unused bytes, names, flags: the same entries.
}

TEST(CorruptionTest, HostileHeadersAreRefusedWithClearErrors) {
  FaultInjectionEnv env;
  BuildFile(&env, 2, 50, 7, /*seal=*/true);
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
  BuildFile(&env, 1, 20, 3, /*seal=*/true);
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
