// The implementation of Engine (engine/engine.h): per namespace, one KeyIndex and a series of
// segment files of which the last is active (SegmentWriter). Engine::Open() builds it on the
// POSIX Env; tests and tools that need another Env (fault injection) call LogEngine::Open.
//
// Commit failure handling (undo log): every staged mutation records the index entry it
// replaced (a flush records the whole index it emptied). If any write or fdatasync of a
// Commit() fails, the whole batch is rolled back in every namespace it touched: index entries
// are restored newest-first, staging buffers are dropped and each file is truncated back to
// its size before the batch. So the running engine never points at, or serves, data of a
// failed batch. A namespace whose file could not be truncated, or whose fdatasync failed,
// then refuses writes (reads go on) until reopened; recovery decides from the file what
// survived. As with any store, a crash after a failed Commit() may leave that batch durable:
// a failed commit's outcome on disk is indeterminate.
//
// Segments: the active segment is sealed once a Commit() leaves it at or past
// Options::segment_bytes (fdatasync; the next write starts a new one). RunBackgroundWork()
// then writes a hint file for every sealed segment lacking one, a bounded slice per call
// (hint_file.h).
//
// Reclaim of a namespace (architecture §4; FORMAT.md "Reclaim" has the on-disk protocol and
// its crash analysis). Inputs: every sealed segment of the namespace when it starts, a prefix
// of its log, so tombstones, flush records, expire-only records and expired puts in them can
// all be dropped: no older segment remains that they would have to mask. Steps, each a
// bounded slice of a RunBackgroundWork() call:
//   1. copy: scan the inputs in order; each put the index still points at (and not expired) is
//      rewritten, with the entry's current expiry and revision, into an output segment
//      written under a temporary name (sequences X+1, X+2, ... for the highest input X, which
//      sort before every newer segment). Index entries move to the copy once it is written;
//   2. publish: each full (and the last) output is fdatasynced, renamed into place and its
//      directory fsynced;
//   3. delete: once every newer record is durable too (the active segment fdatasynced, newer
//      sealed segments done with their sealing fdatasync: ReclaimSyncNewer), the inputs are
//      unlinked oldest first, the directory fsynced after each.
// A failed output write or sync aborts the run: entries moved to the unpublished output are
// moved back, the temporary file removed, the inputs kept. Automatic runs: a namespace is
// checked when it seals a segment and every reclaim_interval_secs (expiry and deletes make
// garbage without sealing), and reclaimed once it holds at least reclaim_sealed_threshold
// sealed segments and at least a third of the bytes of its inputs is garbage (so dense
// segments are not rewritten over and over). Their inputs are every sealed segment but the
// newest (AutomaticReclaimInputs): its records are the youngest, the likeliest to be
// overwritten next. An input into which no index entry points, whose highest revision is
// known (it was sealed by this process: SegmentWriter::max_revision), is dropped without
// being read: under steady overwrites every input is such a one, and a run costs a few
// unlinks. Such a segment gets no hint file either (HintDue), nor does the newest sealed one
// for Options::hint_delay_secs. RequestReclaim() seals every active segment holding records
// and reclaims every sealed segment of every namespace regardless. One namespace is
// reclaimed at a time.
//
// Expiry: an expired entry leaves the index when a read meets it (lazy expiry) or when the
// sweep of RunBackgroundWork() reaches it; the sweep walks each namespace holding keys with an
// expiry in key order, a bounded number of keys per call, so a full pass over n keys takes
// about n / 20,000 calls. No tombstone is written: the expiry is in the record, and recovery
// drops expired entries again.
//
// Completion-driven I/O (engine.h, with a ring attached): CommitAsync() hands each
// namespace's staged bytes to the ring (SegmentWriter::BeginFlush/EndFlush keep them readable
// meanwhile, and mutations are refused until the completion); ReadAhead() reads records into
// read_ahead_, which ReadRecordUncached() consults before the file. Background steps never
// wait on the ring: hint building and reclaim scan a SegmentWindow (a miss starts its read and
// ends the call), reclaim's output writes and publish fdatasyncs end the call too, and state
// such as ReclaimJob::write_in_flight makes the next call resume where it stopped. Ring
// callbacks find their job again by ReclaimJob::run_id or (namespace, sequence), so a job or
// segment gone meanwhile is simply skipped; buffers they fill are shared_ptrs they hold.
//
// Thread contract: as Engine; DCHECKed at every entry point.
#ifndef BEYONDKV_ENGINE_LOG_ENGINE_H_
#define BEYONDKV_ENGINE_LOG_ENGINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/time/time.h"
#include "engine/cache/s3fifo_cache.h"
#include "engine/engine.h"
#include "engine/env.h"
#include "engine/hint_file.h"
#include "engine/key_index.h"
#include "engine/revision_clock.h"
#include "engine/segment_reader.h"
#include "engine/segment_window.h"
#include "engine/segment_writer.h"
#include "engine/uring.h"

namespace beyondkv::engine {

class LogEngine final : public Engine {
 public:
  // As Engine::Open, with every file access going through `env`, which must outlive the
  // engine.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const Options& options,
                                                      const std::string& dir, Env* env);

  ~LogEngine() override;

  absl::StatusOr<Entry> Get(uint32_t ns, std::string_view key,
                            const ReadOptions& options = {}) override;
  absl::StatusOr<bool> Exists(uint32_t ns, std::string_view key) override;
  absl::Status MultiGet(uint32_t ns, size_t count,
                        absl::FunctionRef<std::string_view(size_t)> key_at,
                        absl::FunctionRef<void(size_t, std::string_view)> found) override;
  absl::StatusOr<PutResult> Put(uint32_t ns, std::string_view key, std::string_view value,
                                const PutOptions& options, Entry* old = nullptr) override;
  absl::StatusOr<DeleteResult> Delete(uint32_t ns, std::string_view key,
                                      const DeleteOptions& options = {},
                                      Entry* old = nullptr) override;
  absl::StatusOr<uint64_t> SetExpiry(uint32_t ns, std::string_view key,
                                     int64_t expire_at_ms) override;
  absl::StatusOr<uint64_t> Flush(uint32_t ns) override;
  absl::StatusOr<ScanResult> Scan(uint32_t ns, const ScanOptions& options) override;
  absl::StatusOr<std::string> RandomKey(uint32_t ns) override;
  absl::StatusOr<RenameResult> Rename(uint32_t ns, std::string_view from, std::string_view to,
                                      bool only_if_absent) override;
  absl::StatusOr<uint64_t> KeyCount(uint32_t ns) override;
  absl::Status Commit() override;
  EngineStats Stats() override;
  void RequestReclaim() override;
  using Engine::RunBackgroundWork;
  absl::Status RunBackgroundWork(absl::Duration budget) override;
  absl::Status SyncAll() override;
  const RecoveryStats& recovery_stats() const override { return stats_; }
  bool background_pending() const override;
  void set_collect_changes(bool on) override;
  std::vector<Change> TakeChanges() override;
  absl::Status Replay(uint32_t ns, uint64_t since,
                      const std::function<void(const Change&)>& fn) override;
  uint64_t Watermark() override;
  void ObserveRevision(uint64_t revision) override { clock_.Observe(revision); }
  uint64_t LastRevision() const override { return clock_.last(); }
  absl::StatusOr<ReplayCursor> StartReplay(uint32_t ns, uint64_t since) override;
  absl::StatusOr<bool> ReplayStep(ReplayCursor* cursor, absl::Duration budget,
                                  const std::function<void(const Change&)>& fn) override;
  void EndReplay(const ReplayCursor& cursor) override;
  void AttachRing(Uring* ring) override;
  void CommitAsync(std::function<void(absl::Status)> done) override;
  void ReadAhead(const std::vector<ReadAheadKey>& keys, std::function<void()> done) override;
  void DropReadAhead() override;
  bool io_pending() const override;

  // Tests: instead of a time budget, each RunBackgroundWork() call processes at most
  // `units` records (reclaim copy, hint building) or input removals (0 = time budget), so
  // that reclaim can be stopped and inspected between any two steps.
  void SetBackgroundStepLimitForTesting(size_t units) { step_unit_limit_ = units; }

 private:
  // Undo information of one staged mutation: the entry its key had before it (nullopt:
  // none), or, for a flush, the whole index it emptied. The key is the bytes at key_offset in
  // the namespace's undo_keys (one buffer for the batch: no allocation per write).
  struct UndoEntry {
    size_t key_offset = 0;
    size_t key_size = 0;
    std::optional<IndexEntry> previous;
    std::unique_ptr<KeyIndex> flushed;
  };

  struct SealedSegment {
    std::unique_ptr<File> file;
    uint64_t size = 0;
    bool hinted = false;       // has a valid hint file
    bool hint_failed = false;  // writing its hint failed; not retried until reopened
    bool sync_pending = false;  // its sealing fdatasync is in flight on the ring (no hint yet)
    uint64_t max_revision = 0;  // of its records; 0 = not known (SegmentWriter::max_revision)
    int64_t sealed_at_us = 0;   // Options::now_us when sealed; 0 = found at Open
  };

  struct Namespace {
    KeyIndex index;
    std::map<uint64_t, SealedSegment> sealed;  // by sequence; read-only
    std::unique_ptr<SegmentWriter> active;     // null until recovered or written
    std::vector<UndoEntry> undo;               // mutations staged since Commit()
    std::string undo_keys;                     // their keys, back to back
    std::string sweep_cursor;                  // the next key the expiry sweep examines
    bool sealed_since_check = false;           // for ScheduleReclaim
  };

  // A record's variable parts, as read back for a caller.
  struct RecordData {
    std::string value;
    std::string metadata;
  };

  // A hint file being built (RunBackgroundWork), one segment at a time.
  struct HintJob {
    uint32_t ns = 0;
    uint64_t sequence = 0;
    uint64_t offset = 0;  // the next record to scan
    uint32_t corrupt_records = 0;
    std::shared_ptr<SegmentWindow> window;  // with a ring: the segment read ahead
    std::vector<ScannedRecord> run;         // records scanned, not yet added (kHintRun)
  };
  static constexpr size_t kHintRun = 16;
  static constexpr absl::Duration kHintMemoryIdle = absl::Seconds(10);
  static constexpr size_t kHintMemoryKept = size_t{1} << 20;  // released only above this

  // A record copied by reclaim into the unpublished output, for moving its entry back if the
  // run aborts.
  struct Moved {
    uint64_t to_offset;
    uint64_t from_segment;
    uint64_t from_offset;
  };

  // An index entry to move to a copy in the output buffer once the buffer is written.
  struct Switch {
    std::string key;
    IndexEntry from;
    IndexEntry to;
  };

  // A namespace due for reclaim: `whole` (requested) takes every sealed segment, otherwise
  // (automatic) every one older than the newest (AutomaticReclaimInputs).
  struct ReclaimDue {
    uint32_t ns = 0;
    bool whole = false;
  };

  // The reclaim of one namespace in progress (see the class comment).
  struct ReclaimJob {
    uint32_t ns = 0;
    std::vector<uint64_t> inputs;  // sealed sequences being reclaimed, ascending
    size_t input = 0;              // the input being copied; inputs.size() once all are
    uint64_t input_offset = 0;     // the next record of inputs[input] to examine
    bool damaged_input = false;    // an input held a record that could not be read
    bool copy_done = false;        // every input copied and the last output published
    uint64_t output_limit = 0;     // outputs take sequences below this (the next log one)
    uint64_t next_output = 0;      // the sequence the next output takes
    std::unique_ptr<File> output;  // the unpublished output, under its temporary name
    uint64_t output_sequence = 0;  // of `output`; 0 = none open
    uint64_t output_size = 0;      // bytes written to `output`
    std::string buffer;            // bytes for `output` not yet written
    std::vector<Switch> switches;  // entries to move once `buffer` is written
    std::vector<Moved> moved;      // entries moved into `output`, by to_offset
    size_t deleted = 0;            // inputs unlinked so far
    uint64_t max_revision = 0;     // of every record read from the inputs (the replay floor)
    // With a ring (completion-driven, see the class comment): the input being copied, read
    // ahead; the output write in flight and the switches it carries; the publish's
    // fdatasyncs. A step that starts ring I/O ends its call; the next call resumes.
    uint64_t run_id = 0;  // tells this run's completions from an earlier run's
    std::shared_ptr<SegmentWindow> window;
    uint64_t window_sequence = 0;
    bool write_in_flight = false;
    std::vector<Switch> inflight_switches;
    size_t syncs_in_flight = 0;
    bool output_synced = false;    // the output (and the active segment) are fdatasynced
    bool publish_pending = false;  // ReclaimPublishOutput() waits for the ring
    bool finishing = false;        // that publish is the last of the copy phase
    // Before the first input goes: the active segment (holding records that superseded the
    // inputs') fdatasynced, and sealed segments newer than the inputs and older than
    // `newer_limit` (the active segment's sequence then) done with their sealing fdatasync.
    bool newer_sync_started = false;
    uint64_t newer_limit = 0;
    bool newer_durable = false;
    absl::Status io_error;         // a ring request of this run failed: abort
  };

  // The namespaces a commit writes (those with staged records) and their sizes before it.
  struct CommitBatch {
    std::vector<uint32_t> namespaces;
    std::vector<uint64_t> sizes_before;
  };

  // A CommitAsync() in flight.
  struct AsyncCommit {
    CommitBatch batch;
    size_t pending = 0;      // writes not completed yet
    absl::Status failure;    // the first failure
    std::function<void(absl::Status)> done;
  };

  LogEngine(const Options& options, std::string dir, Env* env);

  CommitBatch CollectCommitBatch() const;
  // Ends a commit whose writes all completed (failure OK) or one failed: commits or rolls
  // back the batch (see Commit()).
  absl::Status FinishCommit(const CommitBatch& batch, const absl::Status& failure);
  void OnCommitWriteDone(const std::shared_ptr<AsyncCommit>& commit, size_t i, int write_result,
                         int sync_result);

  absl::Status Recover();
  absl::Status RecoverNamespace(uint32_t ns);
  absl::Status RecoverSegment(uint32_t ns, uint64_t sequence, bool active, bool has_hint);
  absl::Status ApplyRecovered(uint32_t ns, uint64_t sequence, const ScannedRecord& record);
  // Applies the hint file of sealed segment `sequence` (whose size is `size`); an error if
  // the hint is unusable (the caller then scans the segment).
  absl::Status RecoverFromHint(uint32_t ns, uint64_t sequence, uint64_t size);

  std::string NamespaceDir(uint32_t ns) const;
  int64_t NowUs() const;
  int64_t NowMs() const { return NowUs() / 1000; }
  bool OnEngineThread() const;

  // A copy of the live entry of `key`, or nullopt; erases the entry if it has expired (lazy
  // expiry).
  std::optional<IndexEntry> FindLive(Namespace& n, std::string_view key);
  // The same with `hash` = n.index.Hash(key) and the clock read already (batched lookups).
  std::optional<IndexEntry> FindLive(Namespace& n, std::string_view key, size_t hash,
                                     int64_t now_ms);
  // FindLive()'s tail: `entry` (Find's answer) if it is live; an expired one is expired.
  std::optional<IndexEntry> LiveOrExpire(Namespace& n, std::string_view key,
                                         const IndexEntry* entry, int64_t now_ms);

  // The value (if `with_value`) and metadata of `entry`, the entry of `key` in namespace
  // `ns`, from the staging buffer or the file; DataLoss if the record fails its checks.
  // Without the value and without metadata, no I/O at all.
  absl::StatusOr<RecordData> ReadRecord(uint32_t ns, std::string_view key, const IndexEntry& entry,
                                        bool with_value);
  // The value of a cacheable `entry` (no metadata) missing from the value cache: read from the
  // log, then cached.
  absl::StatusOr<RecordData> ReadAndCache(uint32_t ns, std::string_view key,
                                          const IndexEntry& entry);
  // ReadRecord without the value cache.
  absl::StatusOr<RecordData> ReadRecordUncached(uint32_t ns, std::string_view key,
                                                const IndexEntry& entry, bool with_value);

  // Fills *out with the live entry `entry` of `key` (nullopt: none).
  absl::Status ReadOld(uint32_t ns, std::string_view key, const std::optional<IndexEntry>& entry,
                       Entry* out);

  // The active writer of `ns`, made (without touching the disk) if the namespace has none;
  // an error if it refuses writes.
  absl::StatusOr<SegmentWriter*> WritableSegment(uint32_t ns);

  // What a write already knows of its key, so that staging it looks nothing up again. The
  // pointers are used only while the index's and the cache's version() read as they did when
  // they were taken: whatever runs in between (an expiry, a read that fills the cache and
  // evicts) may free what they point to.
  struct WriteHint {
    size_t index_hash = 0;                // n.index.Hash(key)
    std::optional<uint64_t> cache_hash;   // S3FifoCache::Hash(CacheKeyView(ns, key)), if taken
    const IndexEntry* at = nullptr;       // the key's live entry in the index, if any
    uint64_t index_version = 0;           // of n.index, when `at` was taken
    S3FifoCache::Handle cached = nullptr;  // the key's cache entry (FindAny's), if known
    uint64_t cache_version = 0;           // of cache_, when `cached` was taken
  };
  // Put's lookup: the live entry of `key` (nullopt: none) and the hint for staging its put,
  // from the read-ahead memo when it has the key, else by looking the key up.
  std::optional<IndexEntry> FindForWrite(uint32_t ns, std::string_view key, WriteHint* hint);

  // Records undo information for a mutation of `key` (PushUndo) and forgets all of it
  // (ClearUndo: after a commit or rollback; keeps a modest buffer for the next batch).
  static void PushUndo(Namespace& n, std::string_view key, std::optional<IndexEntry> previous);
  static void ClearUndo(Namespace& n);

  // Stages a put record and points the index at it (with undo). Returns its revision.
  // `hint` (optional) is what FindForWrite() learned, the index unchanged since.
  uint64_t StagePut(uint32_t ns, SegmentWriter* writer, std::string_view key,
                    std::string_view value, std::string_view metadata, int64_t expire_at_ms,
                    const WriteHint* hint = nullptr);
  // Stages a tombstone and erases `key` from the index (with undo). Returns its revision.
  uint64_t StageTombstone(uint32_t ns, SegmentWriter* writer, std::string_view key);

  // The file of segment `sequence` of `ns` for reading: sealed, or reclaim's unpublished
  // output; nullptr if neither (the active segment is read through its writer).
  File* ReadableSegment(uint32_t ns, uint64_t sequence);

  // Undoes the staged mutations of every namespace in `batch` (newest first) and cuts their
  // files back to `sizes_before`.
  void RollbackBatch(const std::vector<uint32_t>& batch, const std::vector<uint64_t>& sizes_before);

  // Seals the active segment of `ns` (fdatasync; it becomes read-only) so the next write
  // starts a new one.
  absl::Status SealActive(uint32_t ns);

  // Under FsyncPolicy::kEverySec: fdatasyncs dirty logs if the last sync is older than 1 s.
  absl::Status MaybeSyncPeriodic();

  // Drops expired keys, resuming where the last call stopped; stops at `deadline` or after
  // a bounded number of keys.
  void SweepExpired(absl::Time deadline);

  // Counts one unit of background work; true once this call's budget is spent. The clock is
  // read every `clock_every` units only (for units of a few hundred nanoseconds, like a hint
  // entry's, reading it each time cost more than a tenth of the work).
  bool StepDone(absl::Time deadline, uint32_t clock_every = 1);

  // Hint files (log_engine_background.cc): builds part of the next missing hint.
  absl::Status HintStep(absl::Time deadline);
  // Whether `segment` should get its hint file at `now_us` (HintStep).
  bool HintDue(uint32_t ns, uint64_t sequence, const SealedSegment& segment,
               int64_t now_us) const;
  absl::Status FinishHint();
  absl::Status StartHintWrite(uint32_t ns, uint64_t sequence, const std::string& path,
                              std::string contents);

  // Reclaim (log_engine_background.cc).
  void ScheduleReclaim();
  // The sealed segments an automatic run of `ns` takes, ascending: all but the newest when
  // that one is a log segment (not a reclaim output, so the outputs fit below it) and others
  // precede it; otherwise all.
  std::vector<uint64_t> AutomaticReclaimInputs(uint32_t ns) const;
  void StartReclaim(const ReclaimDue& due);
  // Whether segment `sequence` of `ns` is an input of the reclaim in progress.
  bool ReclaimInput(uint32_t ns, uint64_t sequence) const;
  absl::Status ReclaimStep(absl::Time deadline);
  absl::Status ReclaimCopy(absl::Time deadline);
  // Makes durable what superseded the inputs' records (ReclaimJob::newer_durable); may end
  // the call with an fdatasync on the ring, the next call resumes.
  absl::Status ReclaimSyncNewer();
  // Queues an fdatasync of `ns`'s active segment (created, with a file descriptor) on the
  // ring: the writer gets the result (SegmentWriter::EndSync) if it is still the active one,
  // then `done` runs. The caller submits.
  void SubmitActiveSync(uint32_t ns, std::function<void(const absl::Status&)> done);
  // Stages a copy of the live put of `key` at `entry` (in an input) for the output, opening
  // an output if none is. A record that cannot be read is left (damaged_input).
  // `source`, if given and holding the record, is read instead of the input file.
  absl::Status ReclaimCopyRecord(std::string_view key, const IndexEntry& entry, bool count_damage,
                                 File* source = nullptr);
  // Moves entries still pointing into the inputs (after damage was met) to the output, or
  // erases those whose record cannot be read.
  absl::Status ReclaimRescue();
  // Writes the buffer and moves its switches; through the ring unless `wait` (or no ring),
  // in which case `write_in_flight` is set and the caller ends its step.
  absl::Status ReclaimWriteBuffer(bool wait = false);
  void ApplySwitches(std::vector<Switch>& switches);
  absl::Status ReclaimPublishOutput();
  absl::Status ReclaimDeleteOne();
  // Ends the run without deleting inputs: moves entries out of the unpublished output and
  // removes it.
  void AbortReclaim(const absl::Status& why);

  // A key of the non-empty `index` drawn at random (expired or not).
  KeyIndex::const_iterator RandomProbe(const KeyIndex& index);

  uint64_t NextRevision() { return clock_.Next(NowMs()); }

  // The value cache's key: the namespace byte, then the key.
  static std::string CacheKey(uint32_t ns, std::string_view key) {
    std::string k;
    k.reserve(key.size() + 1);
    k.push_back(static_cast<char>(ns));
    k.append(key);
    return k;
  }
  // The same, built in a reused buffer (no allocation per lookup): valid until the next call.
  std::string_view CacheKeyView(uint32_t ns, std::string_view key) {
    cache_key_scratch_.clear();
    cache_key_scratch_.push_back(static_cast<char>(ns));
    cache_key_scratch_.append(key);
    return cache_key_scratch_;
  }
  std::string cache_key_scratch_;
  // Batched lookups (ReadAhead). A lookup is a chain of dependent cache
  // misses: index probe, slot, node, key bytes; value cache probe, slot, entry. Run as a
  // pipeline, stage `level` of key i together with stage level-1 of key i+kStageDistance,
  // the misses of different keys overlap instead of coming one after the other. Measured
  // under redis-benchmark MGET of 100 keys at 64 connections (docs/benchmarks.md).
  static constexpr size_t kPrefetchStages = 4;
  static constexpr size_t kStageDistance = 8;
  struct KeyHashes {
    size_t index = 0;  // in the key's namespace index
    uint64_t cache = 0;  // in the value cache (when the value is read)
  };
  // Scratch hashes for `n` keys, valid until the next call.
  KeyHashes* PrefetchHashes(size_t n);
  // Stage `level` (0..kPrefetchStages-1) of `k`'s lookup; level 0 fills `h`.
  void PrefetchStage(const ReadAheadKey& k, KeyHashes& h, int level);
  // Runs every stage over keys[0..n) and then `look_up(i)` for each key, in order, each
  // stage kStageDistance keys behind the one before.
  template <typename LookUp>
  void RunPrefetchPipeline(const ReadAheadKey* keys, size_t n, KeyHashes* hashes,
                           LookUp look_up) {
    for (size_t i = 0; i < n + kPrefetchStages * kStageDistance; ++i) {
      for (size_t level = 0; level < kPrefetchStages; ++level) {
        const size_t lag = level * kStageDistance;
        if (i >= lag && i - lag < n) {
          PrefetchStage(keys[i - lag], hashes[i - lag], static_cast<int>(level));
        }
      }
      if (i >= kPrefetchStages * kStageDistance) look_up(i - kPrefetchStages * kStageDistance);
    }
  }
  std::vector<KeyHashes> prefetch_hashes_;  // released past this many by DropReadAhead
  std::vector<ReadAheadKey> multi_get_keys_;  // MultiGet's scratch, likewise

  // The read-ahead memo: what ReadAhead() found for each key it was given, in order, so that
  // the batch's Get() and MultiGet() take the entry (and the cached value) instead of looking
  // the key up a second time (perf, MGET of 100 keys: the two lookups per key, index and value
  // cache each, were the shard's largest cost). An apply call finds its key's memo by the
  // key's address: the ops read the very strings the read-ahead listed, in the same order, so
  // a cursor walks forward through the memo. A memo is trusted only while the namespace's
  // index (for the entry) and the cache (for the cached value) have the version() they had
  // when ReadAhead() returned; an entry replaced in place meanwhile is read through the
  // pointer as it is now. DropReadAhead() forgets the memo.
  struct ReadAheadMemo {
    const char* key_data = nullptr;  // the ReadAheadKey's view: matched by address
    size_t key_size = 0;
    uint32_t ns = 0;
    bool looked_up = false;              // false: not looked up (bad namespace)
    bool cache_hashed = false;           // cache_hash is set (the value is read or written)
    bool write_only = false;             // the ReadAheadKey's write_only
    const IndexEntry* entry = nullptr;   // the index's entry; nullptr: no such key
    // The value's cache entry; nullptr: not cached. For a write-only key, the key's entry
    // whatever its revision (the write replaces it).
    S3FifoCache::Handle cached = nullptr;
    // The key's hashes, taken once for the lookups and kept for the apply's writes: the index
    // hash holds while the index's hash_seed() does (memo_index_seeds_), the cache's always.
    size_t index_hash = 0;
    uint64_t cache_hash = 0;
  };
  // The memo of (ns, key) if the next entries hold it (skipping keys of ops that take no
  // memo); nullptr otherwise, and then the memo is dropped for the rest of the batch (the
  // apply left the read-ahead's order, and scanning on would be quadratic).
  const ReadAheadMemo* TakeMemo(uint32_t ns, std::string_view key);
  // The entry the memo `m` stands for, if it is still valid: nullptr if the key is absent,
  // std::nullopt (no answer) if the memo is out of date.
  std::optional<const IndexEntry*> MemoEntry(const ReadAheadMemo& m) const;
  // The value cached for `entry` according to `m`, counted as a hit, or nullptr (not cached,
  // or the memo is out of date: ask the cache).
  const std::string* MemoCachedValue(const ReadAheadMemo& m, const IndexEntry& entry);
  // FindLive() through the memo `m` when it is valid, else by looking the key up.
  std::optional<IndexEntry> FindLiveMemo(Namespace& n, std::string_view key,
                                         const ReadAheadMemo& m, int64_t now_ms);
  // MultiGet() of a batch with a memo: the keys' memos in turn, no second lookup.
  absl::Status MultiGetFromMemo(uint32_t ns, size_t count,
                                absl::FunctionRef<std::string_view(size_t)> key_at,
                                absl::FunctionRef<void(size_t, std::string_view)> found);
  // MultiGet()'s read of one found key, as ReadRecord(ns, key, entry, true) without copying a
  // cached value: `found` gets `cached` (the caller's cache lookup; nullptr if it missed or
  // the key has metadata), else the record read from the log (and cached, when the key has no
  // metadata).
  absl::Status DeliverValue(uint32_t ns, std::string_view key, const IndexEntry& entry,
                            const std::string* cached,
                            absl::FunctionRef<void(std::string_view)> found);
  // Starts loading what the memo kMemoPrefetchDistance past the cursor points to (the apply of
  // a key a few keys on: MultiGetFromMemo, FindForWrite).
  void PrefetchMemoAhead() const;
  static constexpr size_t kMemoPrefetchDistance = 4;
  // The block buffer of replay slices' readers (SegmentReader's scratch): one allocation for
  // all slices, not 1 MiB per slice.
  std::string replay_scratch_;
  std::vector<ReadAheadMemo> memo_;
  size_t memo_cursor_ = 0;
  std::array<uint64_t, kNamespaceCount> memo_index_versions_{};
  std::array<uint64_t, kNamespaceCount> memo_index_seeds_{};
  uint64_t memo_cache_version_ = 0;
  static constexpr size_t kMaxRetainedPrefetchHashes = 64 << 10;
  bool inline_appends_ = false;  // AttachRing: appends with pwrite (Options::AppendPath)

  const Options options_;
  const std::string dir_;
  Env* const env_;
  RevisionClock clock_;
  std::array<Namespace, kNamespaceCount> namespaces_;
  RecoveryStats stats_;
  int64_t last_periodic_sync_us_ = 0;
  uint32_t sweep_ns_ = 0;  // the namespace the sweep resumes in
  uint64_t expired_keys_ = 0;
  // Values written (write-allocate) and read from the log, under Options::memory_bytes
  // (architecture §5). Keyed by the
  // namespace byte + key and checked against the index entry's revision, so a stale value is
  // never served. Values with metadata are not cached (their metadata is read anyway).
  S3FifoCache cache_;
  // Watch support: changes staged by the current batch, and those committed since the last
  // TakeChanges(); both empty unless collect_changes_.
  bool collect_changes_ = false;
  std::vector<Change> staged_changes_;
  std::vector<Change> committed_changes_;
  // Per namespace, the highest revision reclaim may have dropped: replay is complete only
  // above it. Persisted in <ns dir>/REPLAY_FLOOR (FORMAT.md).
  std::array<uint64_t, kNamespaceCount> replay_floor_{};

  void NoteChange(Change change);
  // Expires `key` (whose entry has passed its expiry): a tombstone with a fresh revision, so
  // watchers and replay see the expiry; dropped from the index alone if the namespace refuses
  // writes.
  void ExpireKey(uint32_t ns, std::string_view key);
  absl::Status ReadReplayFloor(uint32_t ns);
  absl::Status WriteReplayFloor(uint32_t ns, uint64_t floor);
  // Completion-driven I/O (engine.h): the ring, the commit in flight, the read-ahead buffer
  // (raw records by namespace, segment and offset) and requests in flight.
  Uring* ring_ = nullptr;
  bool commit_in_flight_ = false;
  size_t read_ahead_pending_ = 0;
  size_t periodic_syncs_pending_ = 0;
  // Background work's ring requests in flight (window reads, reclaim writes and syncs, hint
  // file writes); hint_write_in_flight_ while a hint file is being written.
  size_t background_io_pending_ = 0;
  bool hint_write_in_flight_ = false;
  uint64_t reclaim_runs_started_ = 0;
  // Per namespace, replays open (StartReplay without EndReplay): reclaim waits for them.
  std::array<uint32_t, kNamespaceCount> replays_open_{};
  // Starts reading `window` from `offset`: at least `n` bytes (SegmentWindow::kMinBytes),
  // at most to `file_size`.
  void StartWindowRead(const std::shared_ptr<SegmentWindow>& window, int fd, uint64_t offset,
                       size_t n, uint64_t file_size);
  // node_hash_map: reads in flight write into the values, which must not move.
  absl::node_hash_map<std::tuple<uint32_t, uint64_t, uint64_t>, std::string> read_ahead_;
  uint64_t corrupt_records_ = 0;  // found since Open by reads and reclaim
  uint64_t reclaim_runs_ = 0;
  uint64_t reclaim_inputs_unread_ = 0;
  bool reclaim_requested_ = false;
  int64_t last_reclaim_check_us_ = 0;
  std::vector<ReclaimDue> reclaim_queue_;  // in order
  std::optional<ReclaimJob> reclaim_;
  std::optional<HintJob> hint_job_;
  // HintStep last found no segment due for a hint, and nothing was sealed since (nor did a
  // sealing fdatasync complete): background_pending() without walking the segments.
  bool hint_selection_empty_ = false;
  // The hint job's builder, kept from one job to the next with its memory (the entries'
  // buffer, ~72 MiB for a 64 MiB segment of tiny records, and the tracking table): fresh
  // pages for every segment cost a page fault each, an eighth of an MSET-heavy shard's time
  // on a VM. Released once no hint has been built for kHintMemoryIdle.
  HintBuilder hint_builder_;
  absl::Time last_hint_done_ = absl::InfinitePast();
  size_t step_units_ = 0;       // units of work done in this RunBackgroundWork() call
  size_t step_unit_limit_ = 0;  // SetBackgroundStepLimitForTesting
  std::mt19937_64 rng_;
  mutable std::thread::id owner_;  // the engine thread, bound at the first call
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_LOG_ENGINE_H_
