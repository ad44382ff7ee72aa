// The storage engine of one shard: a log-structured, append-only store with one log and one
// in-memory ordered index (keydir) per namespace (architecture §2, §4).
//
// Thread contract: an Engine is owned by its shard's engine thread. Every method must be
// called on that thread only (no internal locking; no data is shared with other threads).
//
// Write path (group commit): Put/Delete update the index at once and stage their records in
// memory; Commit() appends every staged record of every namespace (one write per namespace
// with staged records) and syncs according to Options::fsync. The caller acknowledges the
// mutations of a batch only after Commit() returned OK. Reads issued before Commit() already
// see staged mutations (read-your-writes within a batch).
//
// Storage format: engine/FORMAT.md, constants in engine/record_format.h.
#ifndef BEYONDKV_ENGINE_ENGINE_H_
#define BEYONDKV_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace beyondkv::engine {

inline constexpr uint32_t kNamespaceCount = 16;  // SELECT 0-15

enum class FsyncPolicy {
  kAlways,    // fdatasync in Commit(), before mutations are acknowledged
  kEverySec,  // the owner calls MaybeSyncPeriodic() regularly; at most ~1 s of writes at risk
  kNever,     // the kernel flushes when it likes
};

struct Options {
  uint32_t shard_id = 0;     // this shard's index, 0 <= shard_id < shard_count
  uint32_t shard_count = 1;  // S; recorded in the shard's manifest, checked on Open
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  uint64_t max_value_bytes = 64ull << 20;  // larger values are refused (InvalidArgument)
  // Clock for expiry and revisions; tests inject a fake. Returns Unix time in µs.
  int64_t (*now_us)() = nullptr;  // nullptr = the real clock
};

// One key's current entry as seen by readers.
struct Entry {
  std::string value;
  uint64_t revision = 0;      // the revision of the mutation that wrote this value
  int64_t expire_at_ms = 0;   // absolute Unix ms; 0 = no expiry
};

struct PutOptions {
  enum class Condition { kAlways, kIfAbsent, kIfPresent };
  Condition condition = Condition::kAlways;
  int64_t expire_at_ms = 0;  // absolute Unix ms; 0 = none. Ignored when keep_ttl.
  bool keep_ttl = false;     // keep the current entry's expiry (Redis SET KEEPTTL)
};

struct PutResult {
  bool written = false;        // false when the condition did not hold (nothing changed)
  uint64_t revision = 0;       // the new revision when written
  bool had_old = false;        // whether a live value existed before
  std::string old_value;       // filled only when PutOptions asked for it via Put's old_value
};

// Statistics of one Open(): what recovery found. Logged by the caller.
struct RecoveryStats {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t keys = 0;              // live keys after recovery, all namespaces
  uint64_t bytes_scanned = 0;
  uint64_t torn_bytes_truncated = 0;
  uint64_t corrupt_records = 0;   // bad records skipped in sealed segments
  int64_t elapsed_us = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Opens (creating if needed) the shard's data directory `dir`, checks its manifest against
  // `options` (a different shard_count or shard_id is FailedPrecondition), and rebuilds every
  // namespace's index by scanning its log. A torn or corrupt tail of an active segment is
  // truncated. Errors: FailedPrecondition (manifest mismatch), DataLoss (unreadable manifest),
  // Internal/errno-derived for I/O failures. Also InvalidArgument for bad options
  // (shard_count not in [1, 256], shard_id >= shard_count, max_value_bytes > 1 GiB), and
  // DataLoss for a damaged segment header or a directory holding data but no manifest.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const Options& options,
                                                      const std::string& dir);

  // Returns the live entry for `key` in namespace `ns`. NotFound when absent or expired.
  // InvalidArgument for ns >= kNamespaceCount. DataLoss if the record fails its checksum.
  virtual absl::StatusOr<Entry> Get(uint32_t ns, std::string_view key) = 0;

  // Whether `key` holds a live (unexpired) value. Does not read the value.
  virtual absl::StatusOr<bool> Exists(uint32_t ns, std::string_view key) = 0;

  // Writes key := value under `options`. If `old_value` is non-null and a live value existed,
  // it receives that value (SET ... GET). InvalidArgument: bad ns or value larger than
  // Options::max_value_bytes. Staged until Commit().
  // Also InvalidArgument: key longer than 64 KiB (kMaxKeyBytes, engine/record_format.h).
  // `*old_value` is filled (or cleared when no live value exists) even when the condition
  // fails (SET NX GET); PutResult::old_value is left empty to avoid a second copy.
  virtual absl::StatusOr<PutResult> Put(uint32_t ns, std::string_view key,
                                        std::string_view value, const PutOptions& options,
                                        std::string* old_value = nullptr) = 0;

  // Deletes `key` (appends a tombstone). Returns true if a live value was deleted, false if
  // the key was absent (nothing is written then). Staged until Commit().
  virtual absl::StatusOr<bool> Delete(uint32_t ns, std::string_view key) = 0;

  // Number of live keys in namespace `ns` (keys whose expiry passed may still be counted
  // until they are accessed; the background sweep arrives with the storage-engine issue).
  virtual absl::StatusOr<uint64_t> KeyCount(uint32_t ns) = 0;

  // Appends all staged records (one write per namespace that has any) and, under
  // FsyncPolicy::kAlways, fdatasyncs them. On error the staged mutations must be reported as
  // failed to their writers; the engine stays usable for reads.
  // On error the whole batch has been rolled back in every namespace (no read sees it); a
  // namespace whose fdatasync or rollback failed refuses writes until reopened (log_engine.h).
  virtual absl::Status Commit() = 0;

  // Under FsyncPolicy::kEverySec: fdatasyncs dirty logs if the last sync is older than 1 s.
  // Cheap to call often. A no-op for other policies.
  virtual absl::Status MaybeSyncPeriodic() = 0;

  // Syncs every log (used at clean shutdown, whatever the policy).
  virtual absl::Status SyncAll() = 0;

  virtual const RecoveryStats& recovery_stats() const = 0;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_ENGINE_H_
