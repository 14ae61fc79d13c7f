// //storage: a single-file store of ordered `uint64 key -> bytes` sections, read through mmap
// and written without knowing sizes in advance.
//
// Each section is three flat arrays in the file: sorted uint64 keys, one (offset, length) per
// key, and one blob of values. A lookup is a binary search over the keys and a pointer into
// the map. Writers append in key order; when an array is full, room is inserted right after it
// with fallocate(FALLOC_FL_INSERT_RANGE) (ext4, XFS), or, where the filesystem refuses that
// (tmpfs, btrfs, NFS), by moving the tail of the file. Two header slots at the start of the
// file, written alternately and each checked by CRC32C, make commits atomic: after a crash at
// any instant the file opens as its last committed state, or is refused with a clear error.
// The byte layout is in storage/FORMAT.md.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path);
//   if (!writer.ok()) return writer.status();
//   absl::StatusOr<uint32_t> events = (*writer)->AddSection("events");
//   if (!events.ok()) return events.status();
//   absl::StatusOr<ValueRef> first = (*writer)->Append(*events, 10, payload);
//   if (!first.ok()) return first.status();
//   absl::Status status = (*writer)->AppendShared(*events, 11, *first);  // Same bytes, once.
//   if (status.ok()) status = (*writer)->Seal();
//
//   absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
//   if (!reader.ok()) return reader.status();
//   std::optional<uint32_t> section = (*reader)->FindSection("events");
//   std::optional<absl::string_view> value = (*reader)->Get(*section, 11);  // Into the map.
//
// Caveats (as LMDB states its own):
// - Local filesystems only. flock and mmap coherence are not reliable over NFS/SMB.
// - One writer per file; a second Writer (any process) fails with kUnavailable. Readers refuse
//   a file being written unless ReaderOptions::allow_being_written; such a reader sees the
//   last committed state as of Open, and must not outlive the writer's next growth or Seal:
//   the writer shifts bytes under the map, or truncates it (SIGBUS). See ReaderOptions.
// - Do not modify a file while a Reader maps it: a truncation elsewhere raises SIGBUS.
//   Writer::OpenForUpdate (changing a sealed file) refuses a file that a Reader holds.
// - The header (section table + user metadata) must fit one 16 KiB slot (16352 bytes of payload).
// - Little-endian hosts only (x86-64, AArch64): keys and locations are read in place.
#ifndef FLATPYRAMID_STORAGE_STORE_H_
#define FLATPYRAMID_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/env.h"

namespace flatpyramid {
namespace storage {

// ValueRef is the location of a value inside one section's value blob.
struct ValueRef {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Entry is one key of a section and where its value is.
struct Entry {
  uint64_t key = 0;
  ValueRef value;
};

// WriterOptions tune Writer::Create and Writer::OpenForAppend.
struct WriterOptions {
  bool overwrite = false;       // Create: replace an existing file instead of failing.
  bool force_fallback = false;  // Never use FALLOC_FL_INSERT_RANGE/COLLAPSE_RANGE.
  Env* env = nullptr;           // I/O seam; nullptr = Env::Default().
  // Room reserved for each new section's arrays (holes: no disk used until written). Rounded
  // up to 4096 bytes. Arrays at least double when full, so these only trade early growth steps.
  uint64_t initial_key_capacity = 256 << 10;       // 32,768 keys.
  uint64_t initial_location_capacity = 512 << 10;  // 32,768 locations.
  uint64_t initial_value_capacity = 64 << 20;
  // Bytes per pread/pwrite when the fallback moves the file's tail (rounded up to 4096);
  // progress is recorded after every chunk. For tests: small chunks make small files
  // take many copy steps and progress records.
  uint64_t move_chunk_size = 4 << 20;
  // false: no fdatasync before Seal's last steps (one data sync, then the two sealed header
  // slots), instead of one per commit, growth, trim and AddSection. Only for a file written
  // under a temporary name and renamed into place once sealed, which nobody reopens after a
  // crash: until Seal returns, a crash may leave it unreadable or reading wrong bytes, and
  // OpenForAppend must not be used on it. A sealed file is as durable either way.
  bool sync_each_step = true;
};

// SectionCapacity is the room Writer::AddSection reserves for one section's arrays, in bytes,
// each rounded up to 4096 (holes until written). A section whose arrays end up exactly this
// full (rounded up) is never grown and not trimmed by Seal.
struct SectionCapacity {
  uint64_t keys = 0;       // 8 bytes per entry.
  uint64_t locations = 0;  // 16 bytes per entry.
  uint64_t values = 0;     // The value blob.
};

// WriterStats counts what a Writer did to the file (benchmarks, tests).
struct WriterStats {
  uint64_t growths = 0;               // Arrays grown (INSERT_RANGE, ftruncate or tail copy).
  uint64_t index_growths = 0;         // Of those, keys or locations arrays.
  uint64_t insert_range_calls = 0;    // fallocate(FALLOC_FL_INSERT_RANGE) that succeeded.
  uint64_t collapse_range_calls = 0;  // fallocate(FALLOC_FL_COLLAPSE_RANGE) that succeeded.
  uint64_t tail_moves = 0;            // Fallback growths/trims that copied the tail.
  uint64_t bytes_moved = 0;           // Bytes copied by those.
  uint64_t progress_records = 0;      // Header writes recording how far a tail copy got.
  uint64_t header_writes = 0;         // Header slot writes (commits and move records).
  uint64_t syncs = 0;                 // fdatasync calls.
  uint64_t bytes_written = 0;  // Bytes written: values (copies too), index, headers, tail copies.
};

class Reader;

// Writer appends to a store file. Thread-compatible: one thread at a time.
//
// I/O errors: the call that meets one returns it with its code (kResourceExhausted for ENOSPC,
// EDQUOT or EFBIG, kDataLoss for EIO, as Env reports them), and the Writer refuses every later
// call (kFailedPrecondition naming the first error). The file stays at its last commit (or the
// state of the commit that failed, if its header got written) and OpenForAppend continues from
// there; except that a filesystem may fail inside fallocate(INSERT_RANGE/COLLAPSE_RANGE) with
// the move partly applied, and then the file is refused ("interrupted partial shift").
class Writer {
 public:
  // Create creates a new, empty store at `path` and takes its exclusive lock.
  // kAlreadyExists if the file exists and !options.overwrite; kUnavailable if another process
  // has it open.
  static absl::StatusOr<std::unique_ptr<Writer>> Create(const std::string& path,
                                                        const WriterOptions& options = {});

  // OpenForAppend reopens an unsealed file (for example after a crash) at its last committed
  // state, finishing or undoing any interrupted growth. kFailedPrecondition if sealed;
  // kDataLoss "interrupted partial shift" if the system stopped inside a fallocate move
  // (see Reader::Open): such a file cannot be continued.
  static absl::StatusOr<std::unique_ptr<Writer>> OpenForAppend(const std::string& path,
                                                               const WriterOptions& options = {});

  // OpenForUpdate reopens a SEALED file to change it in place: appends continue its sections,
  // ReplaceEntries gives a section a new index, AddSection adds sections, and Seal (or Commit,
  // then Seal) makes the change. Every header written meanwhile is a sealed one: until the
  // commit, a crash leaves the old content (Reader::Open reads it; a move in progress is
  // finished or undone by OpenForUpdate); after it, the new one. Seal then removes the room
  // the change left (old index bytes, spare capacity) with COLLAPSE_RANGE or a tail copy;
  // OpenForUpdate + Seal finishes that after a crash. Commits read back only what was added
  // (to extend the checksums), never the whole file. kFailedPrecondition if not sealed;
  // kUnavailable if a Reader has the file open (its map would see bytes move: write a copy
  // instead) or another writer has it.
  static absl::StatusOr<std::unique_ptr<Writer>> OpenForUpdate(const std::string& path,
                                                               const WriterOptions& options = {});

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // The destructor closes the file; what was appended after the last Commit is lost.
  ~Writer();

  // AddSection adds an empty section and returns its index (0, 1, ...). The section table
  // change is durable on return (like a Commit that does not commit pending appends).
  // kAlreadyExists for a duplicate name; kInvalidArgument for an empty name.
  absl::StatusOr<uint32_t> AddSection(absl::string_view name);
  // AddSection with the room to reserve given, instead of WriterOptions' initial capacities:
  // a caller that knows a section's final size (a copy of existing sections) reserves it
  // exactly, so that neither growth nor Seal moves bytes (each such move is a fallocate or a
  // tail copy, and drops the moved range from the page cache).
  absl::StatusOr<uint32_t> AddSection(absl::string_view name, const SectionCapacity& capacity);

  // FindSection returns the index of the section called `name`.
  std::optional<uint32_t> FindSection(absl::string_view name) const;

  // Append adds `key -> value` to `section` and returns where the value is in its blob.
  // Keys must be strictly increasing per section: kInvalidArgument otherwise, and nothing is
  // written. Values may be empty.
  absl::StatusOr<ValueRef> Append(uint32_t section, uint64_t key, absl::string_view value);

  // AppendShared adds `key`, pointing at the bytes of an earlier value of the same section
  // (deduplicated values). kInvalidArgument if `existing` is not inside what was appended.
  absl::Status AppendShared(uint32_t section, uint64_t key, ValueRef existing);

  // ReplaceEntries starts a new, empty index for `section`: the following Append,
  // AppendShared and AppendValuesFrom calls add its entries (keys strictly increasing from
  // any value), and the next Commit replaces the committed entries with them, at once. The
  // value blob keeps every byte: AppendShared may point at a value of the old entries (a
  // ValueRef from ReadCommittedEntries), Append adds bytes after the old ones. Until that
  // commit, the old entries stay the committed ones (ReadCommittedEntries, Reader::Open after
  // a crash). The new index is written after the old one in the same arrays (grown by
  // INSERT_RANGE, or the tail copy, where needed); the commit makes the arrays start at the
  // new index, and Seal removes the old one's room (a gap, FORMAT.md). Value bytes no entry
  // refers to any more stay in the blob (the format allows them).
  // kFailedPrecondition if entries were added to `section` since the last commit, or it is
  // being replaced already.
  absl::Status ReplaceEntries(uint32_t section);

  // ReadCommittedEntries returns the committed entries of `section` (before a ReplaceEntries
  // commits: the old ones), read from the file: 24 bytes of memory per entry.
  absl::StatusOr<std::vector<Entry>> ReadCommittedEntries(uint32_t section);

  // ReadValue returns bytes `ref` of `section`'s value blob (committed or appended), read
  // from the file. A writer holds the file's exclusive lock, so it reads its own values:
  // no Reader can map the file meanwhile. kInvalidArgument if `ref` is outside the blob.
  absl::StatusOr<std::string> ReadValue(uint32_t section, ValueRef ref);

  // AppendValuesFrom copies the bytes `range` of `source_section`'s value blob in `source` to
  // the end of `section`'s value blob and returns where they now are; it adds no entry:
  // AppendShared then adds the keys that point into them, so that a run of many values costs
  // one copy (File::CopyFrom: copy_file_range, a reflink where the filesystem shares blocks
  // and the offsets allow, else a buffered copy) and no per-value write. Until entries point
  // at them the bytes are unreferenced, which the format allows (FORMAT.md, "Values"); they
  // become durable with the next Commit, like appended values.
  // kInvalidArgument if `range` is not inside the source blob or `source_section` does not
  // exist; kOutOfRange if the source file is shorter than its header says.
  // REQUIRES: `source` is not this writer's file.
  absl::StatusOr<ValueRef> AppendValuesFrom(uint32_t section, const Reader& source,
                                            uint32_t source_section, ValueRef range);

  // values_length returns the bytes in `section`'s value blob (committed or not): the offset
  // the next appended value gets.
  uint64_t values_length(uint32_t section) const;

  // LastKey returns the last key appended to `section`, if any.
  std::optional<uint64_t> LastKey(uint32_t section) const;

  // entry_count returns the number of entries appended to `section` (committed or not).
  uint64_t entry_count(uint32_t section) const;

  // SetUserMetadata sets the opaque metadata (for example an upper layer's serialized proto
  // and its type name), written at the next Commit or Seal.
  void SetUserMetadata(absl::string_view type_name, std::string bytes);

  // Commit makes everything appended so far durable: data is synced before the header slot
  // that points at it, then that slot is synced.
  absl::Status Commit();

  // Seal commits, computes a CRC32C of every array's used bytes, trims each array's spare room
  // to less than one 4096-byte block, stores the CRCs and marks the file complete. The writer
  // is done afterwards.
  absl::Status Seal();

  // stats returns what the writer did so far.
  const WriterStats& stats() const;

  // uses_insert_range is false once the filesystem refused INSERT_RANGE (or force_fallback).
  bool uses_insert_range() const;

 private:
  // Reopen is OpenForAppend (update = false) or OpenForUpdate.
  static absl::StatusOr<std::unique_ptr<Writer>> Reopen(const std::string& path,
                                                        const WriterOptions& options, bool update);

  class Impl;
  explicit Writer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ReaderOptions tune Reader::Open.
struct ReaderOptions {
  // Read the last committed state of a file that a live Writer holds, instead of failing with
  // kUnavailable. Open then reads the header, maps the file and reads the header again, and
  // accepts the map only if the file size and the header generation did not change meanwhile
  // and no growth or trim was in progress (a recorded INSERT_RANGE/COLLAPSE_RANGE that is
  // visibly done is read); else it retries for about 0.13 s, then fails with kUnavailable.
  //
  // LIFETIME CAVEAT: such a Reader is a snapshot that the writer does not know about. It stays
  // correct while the writer appends and commits, but the writer's next growth (which shifts
  // bytes under the map: lookups then return wrong bytes), Seal (which trims: touching a page
  // past the new end raises SIGBUS and kills the process) or recovery invalidates it. Use it
  // to inspect a crashed or paused writer's file, or for short reads you can repeat; never
  // keep one open while a writer runs. No lock protects it.
  bool allow_being_written = false;
  Env* env = nullptr;  // I/O seam; nullptr = Env::Default().
};

// Reader reads a store file through a read-only map. Thread-safe: every const method may be
// called concurrently, without locks. Every absl::string_view it returns points into the map
// and is valid as long as the Reader lives.
//
// Open checks the header and that every array lies inside the file; per-entry locations are
// bounds-checked on access (a corrupt location reads as an empty value, never out of the map);
// Verify checks everything else (key order, checksums).
class Reader {
 public:
  // Open maps `path` and reads its newest valid header slot. Errors: kNotFound,
  // kUnavailable ("being written by another process", or with allow_being_written a writer
  // that kept moving data or committing while Open ran: retry), kDataLoss (corrupt or
  // truncated file, or "interrupted partial shift": the system stopped inside a
  // fallocate(INSERT_RANGE/COLLAPSE_RANGE) and committed bytes are not where any header says;
  // such a file cannot be recovered), kFailedPrecondition (a newer format version, or an
  // interrupted fallback move that Writer::OpenForAppend must finish).
  static absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& path,
                                                      const ReaderOptions& options = {});

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  // section_count returns the number of sections.
  uint32_t section_count() const;
  // section_name returns the name of `section`. REQUIRES: section < section_count().
  absl::string_view section_name(uint32_t section) const;
  // FindSection returns the index of the section called `name`.
  std::optional<uint32_t> FindSection(absl::string_view name) const;
  // entry_count returns the number of entries of `section`. REQUIRES: section < section_count().
  uint64_t entry_count(uint32_t section) const;

  // Get returns the value stored under `key`, pointing into the map.
  // REQUIRES: section < section_count().
  std::optional<absl::string_view> Get(uint32_t section, uint64_t key) const;

  // KeyAt returns the index-th key. REQUIRES: index < entry_count(section).
  uint64_t KeyAt(uint32_t section, uint64_t index) const;
  // ValueAt returns the index-th value, pointing into the map.
  // REQUIRES: index < entry_count(section).
  absl::string_view ValueAt(uint32_t section, uint64_t index) const;
  // ValueRefAt returns where the index-th value is in the section's blob.
  // REQUIRES: index < entry_count(section).
  ValueRef ValueRefAt(uint32_t section, uint64_t index) const;

  // LowerBound returns the first index whose key is >= `key` (entry_count if none), so that
  // [LowerBound(lo), LowerBound(hi)) iterates keys in [lo, hi).
  // REQUIRES: section < section_count().
  uint64_t LowerBound(uint32_t section, uint64_t key) const;

  // user_metadata_type and user_metadata return what Writer::SetUserMetadata stored.
  absl::string_view user_metadata_type() const;
  absl::string_view user_metadata() const;

  // sealed is true once Writer::Seal completed.
  bool sealed() const;

  // generation returns the commit generation of the header that was read.
  uint64_t generation() const;

  // Verify checks the structure (both header slots, keys strictly increasing, every location
  // inside its blob) and, once sealed, every array's CRC32C. A clear error on the first fault.
  absl::Status Verify() const;

 private:
  friend class Writer;  // AppendValuesFrom copies from the file under the map.
  // ValueBytesInFile is where value bytes are in the file (for a copy that bypasses the map).
  struct ValueBytesInFile {
    File* file;       // Owned by the Reader.
    uint64_t offset;  // In the file.
  };
  // LocateValues checks that `range` is inside `section`'s blob and says where it is.
  absl::StatusOr<ValueBytesInFile> LocateValues(uint32_t section, ValueRef range) const;

  class Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_STORE_H_
