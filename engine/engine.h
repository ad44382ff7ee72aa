// The storage engine of one shard: a log-structured, append-only store with one log and one
// in-memory ordered index (keydir) per namespace (architecture §2, §4).
//
// Thread contract: an Engine is owned by its shard's engine thread. Every method must be
// called on that thread only (no internal locking; no data is shared with other threads).
//
// Write path (group commit): mutations (Put, Delete, SetExpiry, Flush, Rename) update the
// index at once and stage their records in memory; Commit() appends every staged record of
// every namespace (one write per namespace with staged records) and syncs according to
// Options::fsync. The caller acknowledges the
// mutations of a batch only after Commit() returned OK. Reads issued before Commit() already
// see staged mutations (read-your-writes within a batch).
//
// Storage format: engine/FORMAT.md, constants in engine/record_format.h.
#ifndef BEYONDKV_ENGINE_ENGINE_H_
#define BEYONDKV_ENGINE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace beyondkv::engine {

class Uring;  // engine/uring.h

inline constexpr uint32_t kNamespaceCount = 16;  // SELECT 0-15

enum class FsyncPolicy {
  kAlways,    // fdatasync in Commit(), before mutations are acknowledged
  kEverySec,  // RunBackgroundWork() fdatasyncs dirty logs once a second; ~1 s of writes at risk
  kNever,     // the kernel flushes when it likes
};

struct Options {
  uint32_t shard_id = 0;     // this shard's index, 0 <= shard_id < shard_count
  uint32_t shard_count = 1;  // S; recorded in the shard's manifest, checked on Open
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  uint64_t max_value_bytes = 64ull << 20;  // larger values are refused (InvalidArgument)
  // Clock for expiry and revisions; tests inject a fake. Returns Unix time in µs.
  int64_t (*now_us)() = nullptr;  // nullptr = the real clock
  // Value-cache budget of this shard (--memory-bytes / S): the S3-FIFO cache of values read
  // from the log (engine/cache/s3fifo_cache.h).
  uint64_t memory_bytes = 256ull << 20;
  // The active segment is sealed (fdatasynced, made read-only) once a Commit() leaves it at
  // or past this size, and the next one is started. Must be > 40 (a segment header).
  uint64_t segment_bytes = 64ull << 20;
  // Reclaim a namespace automatically once it holds at least this many sealed segments and
  // enough of them is garbage (log_engine.h). 0 = never automatically (RequestReclaim only).
  uint32_t reclaim_sealed_threshold = 4;
  // How often RunBackgroundWork checks whether to reclaim, in seconds of Options::now_us
  // time. <= 0 = at every call.
  int64_t reclaim_interval_secs = 60;
  // A namespace's newest sealed segment gets its hint file (log_engine.h) this many seconds
  // after sealing, or as soon as a newer one seals: under steady overwrites it holds no live
  // record by then, and reclaim drops it without a hint ever being built. Until then a
  // recovery scans that segment.
  int64_t hint_delay_secs = 60;
  // How a batch's appends reach the log once a ring is attached. kAuto: through the ring
  // (IORING_OP_WRITE) where the data directory's filesystem takes buffered writes without
  // blocking (RWF_NOWAIT), and otherwise with a pwrite on the engine thread, because there
  // io_uring hands every buffered write to a kernel worker thread (io-wq) and the engine
  // thread then sleeps until that worker is done: two context switches per batch for a
  // page-cache copy of a few KiB (ext4 on Linux 6.18 is such a filesystem: measured in
  // docs/benchmarks.md). fdatasyncs (--fsync always) always go through the ring. kRing and
  // kInline force one way (tests).
  enum class AppendPath { kAuto, kRing, kInline };
  AppendPath append_path = AppendPath::kAuto;
};

// Where an incremental replay (Engine::StartReplay) stands. Opaque to callers.
struct ReplayCursor {
  uint32_t ns = 0;
  uint64_t since = 0;
  uint64_t segment = 0;  // sequence of the segment being read; 0 = not started
  uint64_t offset = 0;   // of the next record in it
  // Revision of the last record read (delivered or not). A namespace's log is in revision
  // order, so nothing the replay delivers later is at or below it: a watermark.
  uint64_t last_revision = 0;
};

// A key whose record the next ops of a batch will read (Engine::ReadAhead).
struct ReadAheadKey {
  uint32_t ns = 0;
  // Must live, at the same address, until DropReadAhead(): a Get(), MultiGet() or Put() of
  // the batch given this very string takes what the read-ahead found for it instead of a
  // second lookup.
  std::string_view key;
  bool value = true;     // the value is needed (else only the metadata, if the key has any)
  // The op only writes the key (SET, DEL, MSET): nothing is read, but the key is looked up
  // (its index and value-cache lines fetched, its hashes kept) for the write.
  bool write_only = false;
};

// One key's current entry as seen by readers.
struct Entry {
  std::string value;
  std::string metadata;      // opaque bytes given at Put (HTTP X-KV-Metadata); empty = none
  uint64_t revision = 0;     // of the key's last mutation (put, or expire-only record)
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = no expiry
};

struct ReadOptions {
  // false: the value is not read and Entry::value stays empty. The read then costs no disk
  // I/O, unless the entry has metadata: its record is read and verified to return it.
  bool value = true;
};

struct PutOptions {
  enum class Condition { kAlways, kIfAbsent, kIfPresent, kIfRevision };
  Condition condition = Condition::kAlways;
  // kIfRevision: write only if the key's live revision equals this; 0 = only if absent.
  uint64_t if_revision = 0;
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = none. Ignored when keep_ttl.
  bool keep_ttl = false;     // keep the current entry's expiry (Redis SET KEEPTTL)
  // Opaque bytes stored in the record (HTTP X-KV-Metadata), at most 64 KiB; empty = none.
  // Ignored when keep_metadata. The view need only live during the call.
  std::string_view metadata;
  bool keep_metadata = false;  // keep the current entry's metadata instead
};

struct PutResult {
  bool written = false;   // false when the condition did not hold (nothing changed)
  uint64_t revision = 0;  // the new revision when written, else 0
  bool had_old = false;   // whether a live entry existed before
};

struct DeleteOptions {
  // Delete only if the key's live revision equals this. 0 = only if absent, which deletes
  // nothing; a set value on an absent key fails the condition (HTTP If-Match on a missing
  // key answers 412).
  std::optional<uint64_t> if_revision;
};

struct DeleteResult {
  bool deleted = false;           // a live entry was deleted (a tombstone staged)
  bool condition_failed = false;  // if_revision did not match; nothing changed
  uint64_t revision = 0;          // the tombstone's revision when deleted, else 0
};

struct ScanOptions {
  // Keys strictly after start_after (or from it when start_inclusive) that start with prefix.
  // From the very first key: start_inclusive = true with an empty start_after (the empty key
  // is a valid key, and an exclusive empty start_after skips it).
  std::string start_after;
  bool start_inclusive = false;
  std::string prefix;
  size_t limit = 100;  // at most this many keys returned; 0 = no bound
  // Stop after examining this many live keys (0 = no bound): for SCAN COUNT with MATCH, so a
  // filter that rejects most keys cannot make one call walk the whole index.
  size_t max_examined = 0;
  // Keys for which it returns false are examined (they count toward max_examined and may be
  // last_key) but not returned. null = all.
  std::function<bool(std::string_view key)> filter;
};

struct ScanResult {
  std::vector<std::string> keys;  // in key order
  // Keys with the prefix remain after last_key: resume with start_after = last_key.
  // (Such a key may turn out to have expired; a resumed scan then returns nothing.)
  bool more = false;
  std::string last_key;  // the last key examined, returned or not; empty if none
};

struct RenameResult {
  bool renamed = false;           // `from` was moved (or from == to)
  bool condition_failed = false;  // only_if_absent and `to` exists; nothing changed
  uint64_t revision = 0;          // the revision of `to`'s new record when written, else 0
};

struct NamespaceStats {
  uint32_t ns = 0;
  uint64_t keys = 0;        // as KeyCount
  uint64_t expires = 0;     // keys with an expiry
  uint64_t live_bytes = 0;  // bytes of the records the index points to
  uint64_t log_bytes = 0;   // bytes of all segment files, the staged ones included
  uint64_t sealed_segments = 0;
};

struct EngineStats {
  std::vector<NamespaceStats> namespaces;  // only namespaces holding keys or segment files
  uint64_t cache_hits = 0;                 // reads served by the value cache
  uint64_t cache_misses = 0;               // reads of a value that went to the log
  uint64_t cache_bytes = 0;                // charged bytes now cached
  uint64_t cache_budget_bytes = 0;         // Options::memory_bytes
  uint64_t reclaim_runs = 0;               // completed reclaims of a namespace since Open
  uint64_t reclaim_inputs_unread = 0;      // inputs dropped unread (no live record in them)
  uint64_t corrupt_records = 0;            // found by recovery, reads and reclaim since Open
  uint64_t index_bytes = 0;                // estimated memory of the keydirs
  uint64_t expired_keys = 0;               // removed from the index by lazy expiry and the sweep
  // I/O path: whether the engine thread has an io_uring (false: the kernel or a seccomp
  // profile refused it and every read, append and fdatasync blocks the thread), and whether
  // log appends are pwrite()s on the engine thread (Options::AppendPath).
  bool io_uring = false;
  bool inline_appends = false;
};

// Statistics of one Open(): what recovery found. Logged by the caller.
struct RecoveryStats {
  uint64_t segments = 0;
  uint64_t hint_files = 0;  // sealed segments recovered from their hint file
  uint64_t records = 0;
  uint64_t keys = 0;           // live keys after recovery, all namespaces
  uint64_t bytes_scanned = 0;  // segment bytes read record by record
  uint64_t torn_bytes_truncated = 0;
  uint64_t corrupt_records = 0;  // damaged records skipped, not the torn tail (segment_reader.h)
  int64_t elapsed_us = 0;
};

// A committed mutation, as watchers see it (architecture §6). Expire-only records (EXPIRE,
// PERSIST) change no value and produce no Change.
struct Change {
  enum class Kind { kSet, kDelete, kFlush };
  Kind kind = Kind::kSet;
  uint32_t ns = 0;
  std::string key;       // empty for kFlush
  std::string value;     // kSet
  std::string metadata;  // kSet
  uint64_t revision = 0;
  int64_t expire_at_ms = 0;  // kSet: absolute Unix ms, 0 = none
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Opens (creating if needed) the shard's data directory `dir`, checks its manifest against
  // `options` (a different shard_count or shard_id is FailedPrecondition), and rebuilds every
  // namespace's index from its hint files and logs. A torn or corrupt tail of an active
  // segment is truncated; leftovers of an interrupted reclaim are resolved (FORMAT.md).
  // Errors: FailedPrecondition (manifest mismatch), DataLoss (unreadable manifest),
  // Internal/errno-derived for I/O failures. Also InvalidArgument for bad options
  // (shard_count not in [1, 256], shard_id >= shard_count, max_value_bytes > 1 GiB,
  // segment_bytes <= 40), and DataLoss for a damaged segment header or a directory holding
  // data but no manifest.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const Options& options,
                                                      const std::string& dir);

  // Every method below: InvalidArgument for ns >= kNamespaceCount. Mutations are staged until
  // Commit(); reads see staged mutations. Keys are at most 64 KiB (kMaxKeyBytes), metadata
  // at most 64 KiB, values at most Options::max_value_bytes (else InvalidArgument). DataLoss
  // whenever a record that must be read fails its checksum.

  // Returns the live entry for `key`. NotFound when absent or expired.
  virtual absl::StatusOr<Entry> Get(uint32_t ns, std::string_view key,
                                    const ReadOptions& options = {}) = 0;

  // Whether `key` holds a live (unexpired) value. Does not read the record.
  virtual absl::StatusOr<bool> Exists(uint32_t ns, std::string_view key) = 0;

  // Get() of `count` keys of namespace `ns` (key i is key_at(i)), for MGET: calls
  // found(i, value) for each live key, in key order; absent and expired keys get no call.
  // `value` is valid only during the call. Same reads, checks and expiry as Get() of each
  // key, with one clock reading for all of them, and the lookups overlapping their cache
  // misses (LogEngine: the prefetch pipeline of ReadAhead). Errors: as Get(); on an error
  // the keys before the failing one may have been reported.
  virtual absl::Status MultiGet(uint32_t ns, size_t count,
                                absl::FunctionRef<std::string_view(size_t)> key_at,
                                absl::FunctionRef<void(size_t, std::string_view)> found) = 0;

  // Writes key := value (with options.metadata) under `options`. If `old` is non-null it
  // receives the previous live entry (value, metadata, revision, expiry) whether or not the
  // condition held; revision 0 and empty fields when there was none.
  virtual absl::StatusOr<PutResult> Put(uint32_t ns, std::string_view key, std::string_view value,
                                        const PutOptions& options, Entry* old = nullptr) = 0;

  // Deletes `key` (stages a tombstone) if it is live and options.if_revision (if set)
  // matches. Absent key: deleted = false (nothing written). `*old` as for Put.
  virtual absl::StatusOr<DeleteResult> Delete(uint32_t ns, std::string_view key,
                                              const DeleteOptions& options = {},
                                              Entry* old = nullptr) = 0;

  // Sets the expiry of a live key without rewriting its value: stages an expire-only record
  // (key, expiry, revision; no value) and returns its revision. expire_at_ms = 0 persists
  // the key. An expire_at_ms <= now deletes the key (a tombstone) and returns the
  // tombstone's revision. NotFound if no live key.
  virtual absl::StatusOr<uint64_t> SetExpiry(uint32_t ns, std::string_view key,
                                             int64_t expire_at_ms) = 0;

  // Empties namespace `ns` (FLUSHDB): stages a flush record and returns its revision.
  // Recovery drops every key recovered before a flush record of its namespace. An empty
  // namespace writes nothing (a fresh revision is still returned).
  virtual absl::StatusOr<uint64_t> Flush(uint32_t ns) = 0;

  // Live keys in key order (ScanOptions), walking the index: O(log n + examined). Expired
  // keys are skipped: neither returned nor counted (and dropped from the index).
  virtual absl::StatusOr<ScanResult> Scan(uint32_t ns, const ScanOptions& options) = 0;

  // A live key chosen at random (a random probe into the ordered index: keys are not
  // equally likely, but every key can come up). NotFound when the namespace is empty.
  virtual absl::StatusOr<std::string> RandomKey(uint32_t ns) = 0;

  // Moves `from` to `to` with its value, metadata and expiry (Redis RENAME keeps the TTL):
  // stages a put for `to`, then a tombstone for `from`, in the same batch (a torn write can
  // only leave both keys, never neither). NotFound if `from` is absent. from == to:
  // renamed = true, nothing written. only_if_absent and `to` live: condition_failed.
  virtual absl::StatusOr<RenameResult> Rename(uint32_t ns, std::string_view from,
                                              std::string_view to, bool only_if_absent) = 0;

  // Number of live keys in namespace `ns`. Keys whose expiry passed are counted until lazy
  // expiry or the background sweep (RunBackgroundWork) drops them.
  virtual absl::StatusOr<uint64_t> KeyCount(uint32_t ns) = 0;

  // Appends all staged records (one write per namespace that has any) and, under
  // FsyncPolicy::kAlways, fdatasyncs them; then seals active segments grown past
  // Options::segment_bytes. On error the whole batch has been rolled back in every
  // namespace (no read sees it) and must be reported as failed to its writers; a namespace
  // whose fdatasync or rollback failed refuses writes until reopened (log_engine.h).
  virtual absl::Status Commit() = 0;

  // Figures of this shard. Cheap (no walk of the index).
  virtual EngineStats Stats() = 0;

  // Reclaim every namespace (BGREWRITEAOF) at the next RunBackgroundWork() calls: active
  // segments holding records are sealed and all sealed segments are rewritten.
  virtual void RequestReclaim() = 0;

  // Background duties, each bounded to a small time budget so requests are not stalled.
  // Call on the engine thread between batches (nothing staged), at least every 100 ms: the
  // everysec fdatasync, an incremental sweep of expired keys, hint files for sealed
  // segments, and reclaim steps when due. `budget` bounds the time of the sweep, reclaim and
  // hint files together (the fdatasync is not counted; each duty still makes some progress
  // when it is spent). Errors are I/O failures (already logged); the engine stays usable and
  // the work is retried at later calls.
  virtual absl::Status RunBackgroundWork(absl::Duration budget) = 0;
  absl::Status RunBackgroundWork() { return RunBackgroundWork(kBackgroundBudget); }
  // The default budget of one call.
  static constexpr absl::Duration kBackgroundBudget = absl::Milliseconds(2);

  // Whether RunBackgroundWork() has work waiting (reclaim, hint files): the owner should call
  // it again soon rather than after its idle interval.
  virtual bool background_pending() const = 0;

  // Syncs every log (used at clean shutdown, whatever the policy).
  virtual absl::Status SyncAll() = 0;

  virtual const RecoveryStats& recovery_stats() const = 0;

  // ---- Watch support (architecture §6) ----

  // While on, every mutation made durable by Commit() (including the tombstones of keys that
  // expire) is kept for TakeChanges(). Off by default: nothing is kept.
  virtual void set_collect_changes(bool on) = 0;

  // The changes committed since the last call, in revision order.
  virtual std::vector<Change> TakeChanges() = 0;

  // Calls `fn`, in revision order, for every change of namespace `ns` with a revision above
  // `since` that the log still holds. FailedPrecondition, naming the oldest revision still
  // replayable, if reclaim has dropped history after `since`. Reads the log (blocking).
  virtual absl::Status Replay(uint32_t ns, uint64_t since,
                              const std::function<void(const Change&)>& fn) = 0;

  // Every mutation after this call gets a revision greater than the result.
  virtual uint64_t Watermark() = 0;

  // Causality across shards (ARCHITECTURE.md §6): every mutation after this call gets a
  // revision greater than `revision`, one a client has seen from any shard. Values above
  // 2^53 - 1 (never issued) are ignored.
  virtual void ObserveRevision(uint64_t revision) = 0;

  // The greatest revision issued or observed so far; 0 if none.
  virtual uint64_t LastRevision() const = 0;

  // Replay in slices, so a long history does not stall the shard: StartReplay checks `since`
  // against the replay floor (FailedPrecondition as Replay) and opens a cursor; each
  // ReplayStep delivers changes in revision order for about `budget` and returns true once
  // it has delivered every committed change (called between batches, the caller then
  // switches the watcher to TakeChanges() without gap or overlap); EndReplay closes the
  // cursor. While a cursor is open, reclaim of its namespace waits, so no segment goes away
  // under it. Replay() is StartReplay + ReplayStep until done + EndReplay.
  virtual absl::StatusOr<ReplayCursor> StartReplay(uint32_t ns, uint64_t since) = 0;
  virtual absl::StatusOr<bool> ReplayStep(ReplayCursor* cursor, absl::Duration budget,
                                          const std::function<void(const Change&)>& fn) = 0;
  virtual void EndReplay(const ReplayCursor& cursor) = 0;

  // ---- Completion-driven I/O (architecture §2) ----
  //
  // With a ring attached, the engine thread does not wait for the log: CommitAsync() submits
  // the batch's appends (each with its fdatasync linked after it under kAlways) and returns;
  // ReadAhead() submits the reads of the records a batch is about to read; the everysec
  // fdatasync is submitted by RunBackgroundWork() instead of waited for. The owner runs the
  // ring (Uring::Run) on the engine thread, which calls the `done` callbacks. Without a ring
  // (the default, and for files without a descriptor, such as tests' fault-injection Env),
  // the same calls do blocking I/O and call `done` before returning. RunBackgroundWork()
  // also moves its data I/O (hint building, reclaim, sealing fdatasyncs) onto the ring; what
  // stays blocking is listed in ARCHITECTURE.md §2 (metadata operations, recovery, replay).

  // `ring` (owned by the caller, outliving the engine's use of it) or nullptr to detach.
  virtual void AttachRing(Uring* ring) { (void)ring; }

  // As Commit(), with `done` receiving its status once the writes (and syncs) completed.
  // From the call until `done` runs: no mutation may be made (they fail with
  // FailedPrecondition), no other CommitAsync/Commit started, and RunBackgroundWork() does
  // nothing; reads are allowed but a batch's reads normally come before its commit.
  virtual void CommitAsync(std::function<void(absl::Status)> done) { done(Commit()); }

  // Starts reading, into a read-ahead buffer, the records of those `keys` that are live and
  // not already in memory (value cache, staged batch); `done` runs once every read completed
  // (failed reads are simply not buffered: the later read retries and reports). Reads made
  // until DropReadAhead() take the record from the buffer, with the same checks as a read
  // from the file; the batch's Get() and MultiGet() calls, given the keys' own strings in the
  // order listed, also reuse the read-ahead's index and cache lookups while nothing made them
  // stale (LogEngine's read-ahead memo). No mutation may happen between this call and `done`.
  virtual void ReadAhead(const std::vector<ReadAheadKey>& keys, std::function<void()> done) {
    (void)keys;
    done();
  }

  // Frees the read-ahead buffer.
  virtual void DropReadAhead() {}

  // Whether requests submitted to the ring by the engine (commit, read-ahead, everysec
  // fdatasync) are still in flight.
  virtual bool io_pending() const { return false; }
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_ENGINE_H_
