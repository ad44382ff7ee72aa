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
// last entries of at most `max_tracked_keys` keys at a time, in an open-addressing table of
// 64-byte slots by a 64-bit hash of the key, each holding the key's first 40 bytes (the rest
// in a side buffer of at most kMaxTrackedKeyBytes): keys are compared byte for byte, so keys
// whose hashes collide are tracked apart. Past the limit it starts over, and a record
// superseded across the restart stays in the hint: keeping a superseded record is always
// correct, only larger. With max_tracked_keys 0 it leaves nothing out.
//
// Cost: an entry's key is appended (the file grows sequentially) and looked up in the table;
// no earlier entry of the file is touched (a superseded one gets a bit in a bitmap by entry
// number). AddBatch prefetches the slots of a run of records before adding them: a segment's
// keys come in no order, so each lookup is a cache miss, and a quarter of an MSET-heavy
// shard's CPU went to them one at a time.
class HintBuilder {
 public:
  // Up to 2^17 keys tracked: a table of at most 2^18 slots (16 MiB) while a hint is built.
  static constexpr size_t kDefaultMaxTrackedKeys = size_t{1} << 17;
  // The most bytes of tracked keys' tails (past their first 40 bytes) held at a time.
  static constexpr size_t kMaxTrackedKeyBytes = size_t{32} << 20;

  // How keys are hashed for tracking; XXH3 unless a test passes one that collides.
  using KeyHashFn = uint64_t (*)(std::string_view key);
  static uint64_t DefaultKeyHash(std::string_view key);

  HintBuilder() : HintBuilder(kDefaultMaxTrackedKeys) {}
  // max_tracked_keys 0: nothing is left out (every record added gets its entry).
  explicit HintBuilder(size_t max_tracked_keys, KeyHashFn key_hash = &DefaultKeyHash);
  // Adds the next record of the segment.
  void Add(const ScannedRecord& record);
  // Adds the next `n` records of the segment, in order (Add of each, with their lookups
  // overlapped).
  void AddBatch(const ScannedRecord* records, size_t n);
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
  // The same, and the builder is left empty for the next segment. When at most half the
  // entries are kept, the file is a copy of those (a few MiB for an MSET-heavy segment) and
  // the builder keeps its buffer for the next segment; otherwise the buffer itself becomes the
  // file (the superseded entries squeezed out in place): copying a hint as large as its
  // segment stalled the engine thread ~0.4 s.
  std::string TakeFile(HintHeader header);
  // Empties the builder (as TakeFile does), keeping its memory.
  void Reset();
  // Empties the builder and frees its memory.
  void Release();
  // Bytes of memory the builder holds (buffer, table, bitmap), whether used or not.
  size_t capacity_bytes() const {
    return file_.capacity() + slots_.capacity() * sizeof(Slot) + tails_.capacity() +
           superseded_.capacity() * sizeof(uint64_t);
  }

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  static constexpr size_t kInlineKeyBytes = 40;
  static constexpr size_t kMinSlots = 1024;
  // One tracked key: its entries that are still deciding, by their number in the file (0 is
  // the first entry added): its last put or tombstone and the last expire after it (kNone:
  // none); and the key, its first kInlineKeyBytes here, the rest at tail_offset in tails_.
  struct alignas(64) Slot {
    uint64_t hash;
    uint32_t decisive;
    uint32_t expire;
    uint32_t key_size;  // kNone: the slot is free
    uint32_t tail_offset;
    char head[kInlineKeyBytes];
  };
  static_assert(sizeof(Slot) == 64);
  static constexpr Slot kFreeSlot{0, kNone, kNone, kNone, 0, {}};

  void AddHashed(const ScannedRecord& record, uint64_t hash);
  bool Holds(const Slot& slot, uint64_t hash, std::string_view key) const;
  // The slot of `key` (with `hash`), taken for it if it was not tracked.
  Slot* Track(uint64_t hash, std::string_view key);
  void Grow();
  void Supersede(uint32_t entry);  // marks the entry dropped
  void ForgetKeys();               // empties the table and tails_
  bool Dropped(uint64_t entry) const;
  // Calls fn(offset, bytes) for each entry kept, in file order.
  template <typename Fn>
  void ForEachKept(Fn fn) const;
  std::string CopyKept() const;  // the header's room, then the entries kept

  std::string file_;  // header (filled in by Finish/TakeFile), then the entries
  uint64_t entries_added_ = 0;  // entries in file_, superseded ones included
  uint64_t entry_count_ = 0;    // entries that will be kept
  size_t max_tracked_keys_;
  KeyHashFn key_hash_;
  std::vector<Slot> slots_;     // a power of two of them, at most half used (linear probing)
  size_t slots_used_ = 0;
  std::string tails_;                 // the tracked keys' bytes past kInlineKeyBytes
  std::vector<uint64_t> superseded_;  // a bit per entry added: 1 = dropped
  uint64_t live_from_;  // entries before this offset precede the last flush: all dropped
  uint64_t live_from_entry_ = 0;  // the number of the entry at live_from_
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
