// Hint files (architecture §4, engine/FORMAT.md "Hint files"): for a sealed segment, the list
// of its valid records without their values (type, revision, expiry, key, offset and
// lengths), so recovery rebuilds the index from a few bytes per key instead of reading every
// value. A hint is only an accelerator: recovery scans the segment itself whenever the hint is
// missing, truncated, fails its checksum or does not match the segment's size.
//
// Thread-safe: pure functions.
#ifndef BEYONDKV_ENGINE_HINT_FILE_H_
#define BEYONDKV_ENGINE_HINT_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/segment_reader.h"

namespace beyondkv::engine {

struct HintHeader {
  uint32_t format_version = 0;
  uint32_t shard_id = 0;
  uint32_t ns = 0;
  uint32_t corrupt_records = 0;  // bad records the builder skipped in the segment
  uint64_t sequence = 0;
  uint64_t segment_size = 0;  // bytes of the segment file described
  uint64_t entry_count = 0;
};

// Builds a hint file in memory: Add() each valid record of the segment in file order, then
// Finish() (a copy) or TakeFile() (the buffer itself). The file is built in place, header
// first, so taking it copies nothing: a hint of a segment of tiny records is about as large
// as the segment (64 MiB), and copying it on the engine thread stalled requests ~0.4 s.
//
// Superseded records are left out (FORMAT.md "Hint files"): replaying a segment's records in
// order leaves the index as replaying only those that decide it does (DecidingRecords): a
// key's last put or tombstone and the last expire after it, the last flush, and nothing
// before that flush. So a segment whose keys were overwritten many times gets a hint of one
// entry per key, not per record (an MSET-heavy segment: ~10x smaller). The builder tracks the
// last entries of at most `max_tracked_keys` keys at a time (by a 64-bit hash of the key, ~32
// bytes each); past that it starts over, and a record superseded across the restart (or by a
// key whose hash collides) stays in the hint: keeping a superseded record is always correct,
// only larger. With max_tracked_keys 0 it leaves nothing out.
class HintBuilder {
 public:
  static constexpr size_t kDefaultMaxTrackedKeys = size_t{1} << 18;

  HintBuilder() : HintBuilder(kDefaultMaxTrackedKeys) {}
  // max_tracked_keys 0: nothing is left out (every record added gets its entry).
  explicit HintBuilder(size_t max_tracked_keys);
  void Add(const ScannedRecord& record);
  // Entries the hint will hold (those added, less the superseded ones found).
  size_t entry_count() const { return entry_count_; }
  // Bytes of entries held now, superseded ones included until Finish/TakeFile drops them.
  size_t buffered_bytes() const;

  // Reserves room for `bytes` of entries: address space only (pages are touched as entries
  // arrive), so that growing never copies what is built.
  void Reserve(size_t bytes);
  // Reserves room for the hint of a segment of `segment_size` bytes (MaxEntryBytes).
  void ReserveForSegment(uint64_t segment_size) { Reserve(MaxEntryBytes(segment_size)); }

  // The most bytes of entries a segment of `segment_size` bytes can need: one entry per
  // record, and an entry (kHintEntryHeaderSize + key) is up to 4 bytes larger than its
  // record (kRecordHeaderSize + key + metadata + value) when the value is under 4 bytes, so
  // a segment of tiny records has a hint up to ~11% larger than itself. Reserving only the
  // segment's size made the last entries of such a hint reallocate it: a 64 MiB copy on the
  // engine thread, a ~0.25 s stall of every request.
  static size_t MaxEntryBytes(uint64_t segment_size);

  // The whole file for `header` (whose entry_count is set from the entries kept).
  std::string Finish(HintHeader header) const;
  // The same without a copy (the superseded entries are squeezed out in place); the builder
  // is left empty.
  std::string TakeFile(HintHeader header);

 private:
  static constexpr uint64_t kNone = ~uint64_t{0};
  // Offsets in file_ of the entries of one key that are still deciding: its last put or
  // tombstone and the last expire after it (kNone: none).
  struct Tracked {
    uint64_t decisive = kNone;
    uint64_t expire = kNone;
  };
  std::string_view KeyAt(uint64_t entry_offset) const;
  void Supersede(uint64_t entry_offset);  // marks the entry dropped
  void Reset();

  std::string file_;  // header (filled in by Finish/TakeFile), then the entries
  uint64_t entry_count_ = 0;
  size_t max_tracked_keys_;
  absl::flat_hash_map<uint64_t, Tracked> tracked_;  // by XXH3 of the key
  uint64_t live_from_;  // entries before this offset precede the last flush: all dropped
};

// Which of `records` (a segment's, in file order) decide the index: out[i] is false when a
// later record of the list supersedes records[i] (a later put or tombstone of its key; for an
// expire, a later expire of its key too; for anything, a later flush). Replaying only the
// deciding records leaves the index as replaying all of them does. For checking hints
// (tools/kv-log) and tests.
std::vector<bool> DecidingRecords(const std::vector<ScannedRecord>& records);

// Decodes hint file `bytes`, checking the magic, the checksum, that every entry is well
// formed and lies inside header.segment_size, and that offsets increase. On success fills
// *header and returns the records (ScannedRecord::value_offset and size derived from the
// lengths). DataLoss describing the first problem otherwise. The caller checks the header's
// identity fields and segment_size against the segment.
absl::StatusOr<std::vector<ScannedRecord>> DecodeHintFile(std::string_view bytes,
                                                          HintHeader* header);

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_HINT_FILE_H_
