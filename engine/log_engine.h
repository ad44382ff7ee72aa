// The implementation of Engine (engine/engine.h): per namespace, one KeyIndex and a series of
// segment files of which the last is active (SegmentWriter). Engine::Open() builds it on the
// POSIX Env; tests and tools that need another Env (fault injection) call LogEngine::Open.
//
// Commit failure handling (undo log): every staged mutation records the index entry it
// replaced. If any write or fdatasync of a Commit() fails, the whole batch is rolled back in
// every namespace it touched: index entries are restored newest-first, staging buffers are
// dropped and each file is truncated back to its size before the batch. So the running engine
// never points at, or serves, data of a failed batch. A namespace whose file could not be
// truncated, or whose fdatasync failed, then refuses writes (reads go on) until reopened;
// recovery decides from the file what survived. As with any store, a crash after a failed
// Commit() may leave that batch durable: a failed commit's outcome on disk is indeterminate.
//
// Thread contract: as Engine; DCHECKed at every entry point.
#ifndef BEYONDKV_ENGINE_LOG_ENGINE_H_
#define BEYONDKV_ENGINE_LOG_ENGINE_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/env.h"
#include "engine/key_index.h"
#include "engine/revision_clock.h"
#include "engine/segment_reader.h"
#include "engine/segment_writer.h"

namespace beyondkv::engine {

class LogEngine final : public Engine {
 public:
  // As Engine::Open, with every file access going through `env`, which must outlive the
  // engine.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const Options& options,
                                                      const std::string& dir, Env* env);

  ~LogEngine() override;

  absl::StatusOr<Entry> Get(uint32_t ns, std::string_view key) override;
  absl::StatusOr<bool> Exists(uint32_t ns, std::string_view key) override;
  absl::StatusOr<PutResult> Put(uint32_t ns, std::string_view key, std::string_view value,
                                const PutOptions& options,
                                std::string* old_value = nullptr) override;
  absl::StatusOr<bool> Delete(uint32_t ns, std::string_view key) override;
  absl::StatusOr<uint64_t> KeyCount(uint32_t ns) override;
  absl::Status Commit() override;
  absl::Status MaybeSyncPeriodic() override;
  absl::Status SyncAll() override;
  const RecoveryStats& recovery_stats() const override { return stats_; }

 private:
  // Undo information of one staged mutation: the entry `key` had before it (nullopt: none).
  struct UndoEntry {
    std::string key;
    std::optional<IndexEntry> previous;
  };

  struct Namespace {
    KeyIndex index;
    std::map<uint64_t, std::unique_ptr<File>> sealed;  // by sequence; read-only in use
    std::unique_ptr<SegmentWriter> active;             // null until recovered or written
    std::vector<UndoEntry> undo;                       // mutations staged since Commit()
  };

  LogEngine(const Options& options, std::string dir, Env* env);

  absl::Status Recover();
  absl::Status RecoverNamespace(uint32_t ns);
  absl::Status RecoverSegment(uint32_t ns, uint64_t sequence, bool active);
  absl::Status ApplyRecovered(uint32_t ns, uint64_t sequence, const std::string& path,
                              const ScannedRecord& record);

  std::string NamespaceDir(uint32_t ns) const;
  int64_t NowUs() const;
  bool OnEngineThread() const;

  // The live entry of `key`, or nullptr; erases the entry if it has expired (lazy expiry).
  // The pointer is valid until the next index mutation.
  const IndexEntry* FindLive(Namespace& n, std::string_view key);

  // The value of `entry` (the entry of `key` in namespace `ns`), from the staging buffer or
  // the file; DataLoss if the record on disk fails its checks.
  absl::StatusOr<std::string> ReadValue(uint32_t ns, std::string_view key,
                                        const IndexEntry& entry);

  // The active writer of `ns`, made (without touching the disk) if the namespace has none;
  // an error if it refuses writes.
  absl::StatusOr<SegmentWriter*> WritableSegment(uint32_t ns);

  // Undoes the staged mutations of every namespace in `batch` (newest first) and cuts their
  // files back to `sizes_before`.
  void RollbackBatch(const std::vector<uint32_t>& batch,
                     const std::vector<uint64_t>& sizes_before);

  const Options options_;
  const std::string dir_;
  Env* const env_;
  RevisionClock clock_;
  std::array<Namespace, kNamespaceCount> namespaces_;
  RecoveryStats stats_;
  int64_t last_periodic_sync_us_ = 0;
  mutable std::thread::id owner_;  // the engine thread, bound at the first call
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_LOG_ENGINE_H_
