// Writer::Impl, the state of a storage Writer and the steps it takes, declared for the files
// that define them: writer.cc (opening, recovery, sections, commits, Seal, header writes and
// the public Writer methods), writer_append.cc (entries and value buffers), writer_update.cc
// (replaced indexes, the checksums of a file changed in place) and writer_moves.cc (growth,
// trims, gaps, tail copies, recorded moves). Private to //storage: not part of the API.
#ifndef FLATPYRAMID_STORAGE_INTERNAL_WRITER_IMPL_H_
#define FLATPYRAMID_STORAGE_INTERNAL_WRITER_IMPL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/env.h"
#include "storage/header.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

class Writer::Impl {
 public:
  Impl(std::string path, std::unique_ptr<File> file, const WriterOptions& options);

  // InitializeNew writes the header region of a new, empty file (Writer::Create).
  absl::Status InitializeNew();
  // Recover reopens the file at its last committed state: an unsealed one to append, or with
  // `update` a sealed one to change in place (every header it writes then stays sealed).
  absl::Status Recover(bool update);

  // The Writer methods of the same names; their contracts are in store.h.
  absl::StatusOr<uint32_t> AddSection(absl::string_view name, const SectionCapacity& capacity);
  std::optional<uint32_t> FindSection(absl::string_view name) const;
  absl::StatusOr<ValueRef> Append(uint32_t section, uint64_t key, absl::string_view value);
  absl::Status AppendShared(uint32_t section, uint64_t key, ValueRef existing);
  // AppendValueBytes copies `length` bytes at `source_offset` of `source` to the end of
  // `section`'s value blob (Writer::AppendValuesFrom).
  absl::StatusOr<ValueRef> AppendValueBytes(uint32_t section, File* source, uint64_t source_offset,
                                            uint64_t length);
  absl::Status ReplaceEntries(uint32_t section);
  absl::StatusOr<std::vector<Entry>> ReadCommittedEntries(uint32_t section);
  absl::StatusOr<std::string> ReadValue(uint32_t section, ValueRef ref);
  uint64_t ValuesLength(uint32_t section) const;
  std::optional<uint64_t> LastKey(uint32_t section) const;
  uint64_t EntryCount(uint32_t section) const;
  void SetUserMetadata(absl::string_view type_name, std::string bytes);
  absl::Status Commit();
  absl::Status Seal();

  const WriterStats& stats() const { return stats_; }
  const WriterOptions& options() const { return options_; }
  bool uses_insert_range() const { return use_fallocate_ranges_; }

 private:
  // kArrayKinds are a section's three arrays, in the order AddSection places them.
  static constexpr ArrayKind kArrayKinds[] = {ARRAY_KEYS, ARRAY_LOCATIONS, ARRAY_VALUES};

  // Per-section state that is not in the header.
  struct SectionRuntime {
    std::string key_buffer;  // Appended keys not yet written to the file.
    // Appended values not yet written, from blob offset values_flushed on. Invariant:
    // values_flushed + value_buffer.size() == the section's values_length.
    std::string value_buffer;
    uint64_t values_flushed = 0;
    std::string location_buffer;  // Their locations.
    uint64_t flushed_entries = 0;
    std::optional<uint64_t> last_key;
    uint64_t committed_entries = 0;
    uint64_t committed_values_length = 0;
    // ReplaceEntries: the new index is written from these byte offsets of the keys and
    // locations arrays on (the committed entries before them stay readable until the commit,
    // which makes the arrays start there). Invariant: both 0 unless `replacing`.
    bool replacing = false;
    uint64_t key_base = 0;
    uint64_t location_base = 0;
    // The CRC32C of each array's used bytes (keys, locations, values), extended as entries and
    // values are appended, so that Seal need not read the file back. Valid only while every
    // used byte came through Append or AppendShared of this writer: a section it added, no
    // bytes copied by AppendValueBytes, no entries replaced.
    std::array<uint32_t, 3> running_crcs = {0, 0, 0};
    bool running_crcs_valid = false;
  };

  // Errors, syncs, header writes and checksums (writer.cc).

  // LoadLastKeys reads each section's last committed key (appends must follow it).
  absl::Status LoadLastKeys();
  // CheckSection is kInvalidArgument, naming the index, if there is no such section.
  absl::Status CheckSection(uint32_t section) const;
  // Annotate prefixes the file's path (the code stays the same).
  absl::Status Annotate(const absl::Status& status) const;
  // WhileDoing prefixes what the writer was doing (the code stays the same).
  static absl::Status WhileDoing(const absl::Status& status, absl::string_view doing);
  // CheckUsable is kFailedPrecondition once the writer has failed or sealed the file.
  absl::Status CheckUsable() const;
  // WriteFile is File::Write, counted in WriterStats::bytes_written.
  absl::Status WriteFile(uint64_t offset, absl::string_view data);
  // Fail keeps the first error (every later call is refused with it) and returns `status`.
  absl::Status Fail(const absl::Status& status);
  // Sync is File::SyncData, skipped without sync_each_step until Seal's last steps.
  absl::Status Sync();
  // SyncIfMoved syncs if a move changed the layout since the last sync.
  absl::Status SyncIfMoved();
  // View returns the header to write: the current layout with the committed counts and
  // metadata (committed = true, for move records) or the current ones (a commit).
  Header View(bool committed) const;
  // WriteHeader writes `header` as the next generation into its slot and syncs it.
  absl::Status WriteHeader(Header header);
  // LayoutEnd is the end of the highest array (kDataStart without arrays).
  uint64_t LayoutEnd() const;
  // SetCrc stores `crc` as the checksum of `section`'s array `kind`.
  static void SetCrc(Section* section, ArrayKind kind, uint32_t crc);
  // UsedBytesCrcs returns the CRC32C of the used bytes of each section's keys, locations and
  // values: a section's running CRCs where valid, else its bytes read through a map where the
  // Env can map (no copy into a buffer: that copy costs more than the CRC). As for a Reader, an I/O
  // error under the map would raise SIGBUS; the bytes were just written and are normally still in
  // the page cache.
  absl::StatusOr<std::vector<std::array<uint32_t, 3>>> UsedBytesCrcs();
  // FileCrc returns `crc` extended over [offset, offset + length) of the file (by default the
  // CRC32C of those bytes), from `map` if not null (it maps the whole file), else read into
  // `buffer`.
  absl::StatusOr<uint32_t> FileCrc(uint64_t offset, uint64_t length, const MappedRegion* map,
                                   std::string* buffer, uint32_t crc = 0);

  // Entries and value buffers (writer_append.cc).

  // CheckKey is kInvalidArgument unless `key` follows the section's last key.
  absl::Status CheckKey(uint32_t section, uint64_t key) const;
  // StartWritebackEvery counts `appended` value bytes, and starts the kernel's writeback of
  // the file (File::StartWriteback) every kWritebackStep of them.
  void StartWritebackEvery(uint64_t appended);
  // AddEntry reserves room for one key and location, and buffers them.
  absl::Status AddEntry(uint32_t section, uint64_t key, ValueRef ref);
  // BufferValue adds `value` (appended at the end of the section's blob, room reserved) to the
  // value buffer, or writes it and the buffer when they are long.
  absl::Status BufferValue(uint32_t section, absl::string_view value);
  // FlushValues writes the section's buffered values at their place in the values array (as
  // it is now: growths of other arrays may have moved it since they were buffered).
  absl::Status FlushValues(uint32_t section);
  // FlushBuffers writes the section's buffered values, keys and locations.
  absl::Status FlushBuffers(uint32_t section);
  absl::Status FlushAllBuffers();

  // Replaced indexes and the checksums of a file changed in place (writer_update.cc).

  // CommitView is the header a commit writes: View(false), where a section whose entries are
  // replaced shows its new index (its keys and locations arrays start at the bases), and, in a
  // file changed in place, the CRC32Cs of the arrays' new used bytes.
  absl::StatusOr<Header> CommitView();
  // ExtendedCrc is the CRC32C of the used bytes of `kind` of section `s` as the next commit
  // shows them: the committed CRC extended over the bytes added since (all of a replaced
  // index), so that an update reads what it wrote, not the file.
  absl::StatusOr<uint32_t> ExtendedCrc(int s, ArrayKind kind);

  // Growth, trims, gaps, tail copies and recorded moves (writer_moves.cc); FORMAT.md,
  // "Growth", "Fallback growth" and "Seal", states why each step is crash-safe.

  // ResolvePendingMove brings layout_ to where the recorded `move` left the file: nothing to do,
  // a shift fallocate applied (or not), or an interrupted tail copy, which it finishes; then
  // `*punch_room` says the copy's room still holds stale bytes.
  absl::Status ResolvePendingMove(const PendingMove& move, bool* punch_room);
  // Reserve makes `array` of `section` at least `needed` bytes, growing it geometrically.
  absl::Status Reserve(uint32_t section, ArrayKind array, uint64_t needed);
  // Grow adds `length` bytes of room right after `array`, recorded first: by ftruncate at the
  // end of the file, INSERT_RANGE, or a tail copy where the filesystem refuses INSERT_RANGE.
  absl::Status Grow(uint32_t section, ArrayKind array, uint64_t length);
  // FinishGrowth shows a finished (and synced) tail copy in a header without a pending move,
  // before anything else is written: later writes would land where recovery of the record
  // still copies bytes.
  absl::Status FinishGrowth(const PendingMove& move);
  // RemoveRoom trims every array to round_up(its used bytes) and removes the gaps between the
  // arrays (left by ReplaceEntries), from the highest offset to the lowest, so that each move
  // shifts only bytes that are already final. Nothing else is written between the moves, so
  // the record of each may stay the newest header until the next one.
  absl::Status RemoveRoom();
  // Shrink trims `length` bytes off the end of an array.
  absl::Status Shrink(uint32_t section, ArrayKind array, uint64_t length);
  // Remove removes `move`'s range [offset, offset + length) from the file (a trim or a gap),
  // recorded first (FORMAT.md, "Seal"), by ftruncate, COLLAPSE_RANGE or a tail copy.
  absl::Status Remove(PendingMove move);
  // WithPending is View(/*committed=*/true) recording `move`.
  Header WithPending(const PendingMove& move) const;
  // PunchIfSupported makes [offset, offset + length) a hole where the Env can.
  absl::Status PunchIfSupported(uint64_t offset, uint64_t length);
  // WriteOrPunch writes [at, at + length) from `data`, except that runs of all-zero 4096-byte
  // blocks become holes (so reserved room that a move copies stays free disk space, also where
  // a chunk is part data, part room). `at` is block aligned.
  absl::Status WriteOrPunch(uint64_t at, const char* data, size_t length);
  // CopyChunk copies [from, from + n) to [to, to + n); a source that is only holes is not
  // read, its destination is punched.
  absl::Status CopyChunk(uint64_t from, uint64_t to, size_t n, std::string* buffer);
  // RecordProgress makes the copies so far durable, then a header recording `move` with them.
  absl::Status RecordProgress(const Header& base, const PendingMove& move);
  // CopyTailUp moves [offset, progress) up by length, from the end backwards, recording the
  // progress before any write could overwrite bytes an earlier record still needs at their old
  // place, and after every chunk (FORMAT.md, "Fallback growth"). Ends with
  // every copy durable; the caller shows the new layout. The header's layout is the one before
  // the move.
  absl::Status CopyTailUp(PendingMove move);
  // CopyTailDown moves [progress, file_size_before) down by length, front to back, with the
  // mirror rule of CopyTailUp, then truncates.
  absl::Status CopyTailDown(PendingMove move);

  const std::string path_;
  std::unique_ptr<File> file_;
  const WriterOptions options_;
  const uint64_t move_chunk_;                          // Bytes per pread/pwrite of a tail move.
  static constexpr uint64_t kWritebackStep = 8 << 20;  // Appended bytes per StartWriteback.
  uint64_t unstarted_writeback_bytes_ = 0;
  Header layout_;  // Current layout and counts (appended, committed or not).
  std::vector<SectionRuntime> sections_;
  std::string meta_type_, meta_, committed_meta_type_, committed_meta_;
  uint64_t generation_ = 0;
  uint64_t file_size_ = 0;
  bool use_fallocate_ranges_ = true;
  bool layout_moved_since_sync_ = false;
  bool disk_has_pending_ = false;  // The newest header on disk records a move.
  bool sealed_ = false;
  // Opened by OpenForUpdate: the file is sealed, and every header written stays sealed, with
  // the committed checksums (a commit extends them over what it added).
  bool updating_ = false;
  bool final_syncs_ = false;  // Seal's last steps: they sync even without sync_each_step.
  absl::Status failed_;
  WriterStats stats_;
};

}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_INTERNAL_WRITER_IMPL_H_
