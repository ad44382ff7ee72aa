// Sealed segments, hint files and reclaim (log_engine.h, FORMAT.md "Hint files", "Reclaim"):
// nothing lost and nothing resurrected by a reclaim, across reopens, with a crash injected at
// every step, with damaged hints and damaged records, and the space it gives back.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/engine.h"
#include "engine/log_engine.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr int64_t kStartUs = 1'700'000'000'000'000;
int64_t g_now_us = kStartUs;
int64_t FakeNow() { return g_now_us; }
int64_t NowMs() { return g_now_us / 1000; }

// What a namespace must hold: key -> entry (value, metadata, expiry; revisions unchecked).
using Model = std::map<std::string, Entry>;

class ReclaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now_us = kStartUs;
    options_.now_us = FakeNow;
    options_.segment_bytes = 512;
    options_.reclaim_sealed_threshold = 0;  // only when asked, unless a test says otherwise
    options_.hint_delay_secs = 0;           // every sealed segment hinted at once, unless ...
  }

  absl::StatusOr<std::unique_ptr<Engine>> TryOpen() {
    engine_.reset();
    return LogEngine::Open(options_, dir_->path(), &env_);
  }

  Engine& Open() {
    absl::StatusOr<std::unique_ptr<Engine>> engine = TryOpen();
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    return *engine_;
  }

  LogEngine& log_engine() { return static_cast<LogEngine&>(*engine_); }

  // A new engine in a new, empty directory, at the start time.
  void StartOver() {
    engine_.reset();
    dir_ = std::make_unique<testing::TempDir>();
    models_.clear();
    g_now_us = kStartUs;
    Open();
  }

  void Put(uint32_t ns, const std::string& key, const std::string& value, int64_t expire_at_ms = 0,
           const std::string& metadata = "") {
    PutOptions options;
    options.expire_at_ms = expire_at_ms;
    options.metadata = metadata;
    ASSERT_TRUE(engine_->Put(ns, key, value, options).ok());
    ASSERT_TRUE(engine_->Commit().ok());
    models_[ns][key] = Entry{value, metadata, 0, expire_at_ms};
  }

  void Delete(uint32_t ns, const std::string& key) {
    ASSERT_TRUE(engine_->Delete(ns, key)->deleted);
    ASSERT_TRUE(engine_->Commit().ok());
    models_[ns].erase(key);
  }

  void SetExpiry(uint32_t ns, const std::string& key, int64_t expire_at_ms) {
    ASSERT_TRUE(engine_->SetExpiry(ns, key, expire_at_ms).ok());
    ASSERT_TRUE(engine_->Commit().ok());
    models_[ns][key].expire_at_ms = expire_at_ms;
  }

  // A workload leaving every kind of record in sealed segments: overwrites, tombstones,
  // expire-only records (extending, persisting), expired puts, metadata, a rename, a flush.
  void Workload() {
    const std::string pad(30, '.');
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 40; ++i) {
        Put(0, "key" + std::to_string(100 + i), "v" + std::to_string(round) + pad);
      }
    }
    for (int i = 0; i < 10; ++i) Delete(0, "key" + std::to_string(100 + i));
    for (int i = 0; i < 10; ++i) Put(0, "ttl" + std::to_string(i), "t" + pad, NowMs() + 1000);
    for (int i = 0; i < 5; ++i) SetExpiry(0, "ttl" + std::to_string(i), NowMs() + 3'600'000);
    SetExpiry(0, "ttl5", 0);
    Put(0, "meta", "m" + pad, 0, "{\"k\":1}");
    ASSERT_TRUE(engine_->Rename(0, "key120", "renamed", false)->renamed);
    ASSERT_TRUE(engine_->Commit().ok());
    models_[0]["renamed"] = models_[0]["key120"];
    models_[0].erase("key120");
    for (int i = 0; i < 30; ++i) Put(1, "gone" + std::to_string(i), "x" + pad);
    ASSERT_TRUE(engine_->Flush(1).ok());
    ASSERT_TRUE(engine_->Commit().ok());
    models_[1].clear();
    for (int i = 0; i < 5; ++i) Put(1, "after" + std::to_string(i), "y" + pad);
    Put(2, "small", "only in its active segment");
    g_now_us += 2'000'000;  // ttl6..ttl9 expire
    for (int i = 6; i < 10; ++i) models_[0].erase("ttl" + std::to_string(i));
  }

  // Checks that the engine holds exactly the models: every key with its value, metadata and
  // expiry, and no other live key.
  void ExpectModels(const std::string& when) {
    SCOPED_TRACE(when);
    for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
      const Model& model = models_[ns];
      ScanOptions all;
      all.limit = 0;
      absl::StatusOr<ScanResult> scan = engine_->Scan(ns, all);
      ASSERT_TRUE(scan.ok()) << scan.status();
      std::vector<std::string> expected_keys;
      for (const auto& [key, entry] : model) expected_keys.push_back(key);
      EXPECT_EQ(scan->keys, expected_keys) << "namespace " << ns;
      for (const auto& [key, expected] : model) {
        absl::StatusOr<Entry> e = engine_->Get(ns, key);
        ASSERT_TRUE(e.ok()) << key << ": " << e.status();
        EXPECT_EQ(e->value, expected.value) << key;
        EXPECT_EQ(e->metadata, expected.metadata) << key;
        EXPECT_EQ(e->expire_at_ms, expected.expire_at_ms) << key;
      }
    }
  }

  // Runs background work until `runs` reclaims have completed (or the env crashed).
  void RunUntilReclaimed(uint64_t runs) {
    for (int i = 0; i < 100'000 && engine_->Stats().reclaim_runs < runs && !env_.crashed(); ++i) {
      engine_->RunBackgroundWork().IgnoreError();
    }
  }

  // Runs background work until every sealed segment has a hint file.
  void RunUntilHinted() {
    for (int i = 0; i < 100'000 && !AllSealedHinted(); ++i) {
      ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    }
    ASSERT_TRUE(AllSealedHinted());
  }

  std::string NsDir(uint32_t ns) const { return dir_->path() + "/" + NamespaceDirName(ns); }

  std::set<std::string> Files(uint32_t ns) const {
    absl::StatusOr<std::vector<std::string>> names = Env::Default()->ListDir(NsDir(ns));
    if (!names.ok()) return {};
    return std::set<std::string>(names->begin(), names->end());
  }

  std::vector<uint64_t> Segments(uint32_t ns) const {
    std::vector<uint64_t> out;
    for (const std::string& name : Files(ns)) {
      if (std::optional<uint64_t> seq = ParseSegmentFileName(name)) out.push_back(*seq);
    }
    return out;
  }

  uint64_t SealedSegments(uint32_t ns) {
    for (const NamespaceStats& s : engine_->Stats().namespaces) {
      if (s.ns == ns) return s.sealed_segments;
    }
    return 0;
  }

  bool AllSealedHinted() {
    for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
      const std::set<std::string> files = Files(ns);
      size_t hints = 0;
      for (const std::string& name : files) hints += ParseHintFileName(name).has_value();
      if (hints != SealedSegments(ns)) return false;
    }
    return true;
  }

  // No temporary file, and every hint next to its segment.
  void ExpectTidyDirectories() {
    for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
      const std::set<std::string> files = Files(ns);
      for (const std::string& name : files) {
        EXPECT_FALSE(absl::EndsWith(name, ".tmp")) << name;
        if (std::optional<uint64_t> hint = ParseHintFileName(name)) {
          EXPECT_TRUE(files.count(SegmentFileName(*hint))) << name;
        }
      }
    }
  }

  uint64_t DiskBytes(uint32_t ns) const {
    uint64_t total = 0;
    for (const std::string& name : Files(ns)) total += testing::FileSize(NsDir(ns) + "/" + name);
    return total;
  }

  std::unique_ptr<testing::TempDir> dir_ = std::make_unique<testing::TempDir>();
  testing::FaultInjectionEnv env_;
  Options options_;
  std::unique_ptr<Engine> engine_;
  std::map<uint32_t, Model> models_;
};

// ---- Sealing and hint files -----------------------------------------------------------------

TEST_F(ReclaimTest, SealedSegmentsGetHintFilesThatRecoveryUses) {
  Open();
  Workload();
  ASSERT_GE(SealedSegments(0), 10u);
  RunUntilHinted();
  ExpectModels("after hints");
  const uint64_t sealed = SealedSegments(0) + SealedSegments(1);
  Open();
  ExpectModels("reopened from hints");
  EXPECT_EQ(engine_->recovery_stats().hint_files, sealed);
  // Only the active segments were read record by record.
  uint64_t active_bytes = 0;
  for (uint32_t ns : {0, 1, 2}) {
    const std::vector<uint64_t> segments = Segments(ns);
    if (!Files(ns).count(HintFileName(segments.back()))) {
      active_bytes += testing::FileSize(NsDir(ns) + "/" + SegmentFileName(segments.back()));
    }
  }
  EXPECT_EQ(engine_->recovery_stats().bytes_scanned, active_bytes);
  EXPECT_EQ(engine_->recovery_stats().corrupt_records, 0u);
}

std::set<uint64_t> HintedSequences(const std::set<std::string>& files) {
  std::set<uint64_t> out;
  for (const std::string& name : files) {
    if (std::optional<uint64_t> hint = ParseHintFileName(name)) out.insert(*hint);
  }
  return out;
}

TEST_F(ReclaimTest, TheNewestSealedSegmentsHintWaitsForTheDelayOrTheNextSeal) {
  options_.hint_delay_secs = 60;
  options_.segment_bytes = 4096;
  Open();
  for (int i = 0; i < 60; ++i) Put(0, "key" + std::to_string(i), std::string(200, 'v'));
  ASSERT_GE(SealedSegments(0), 2u);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_FALSE(engine_->background_pending());
  std::vector<uint64_t> sealed = Segments(0);
  sealed.pop_back();  // the active one
  std::set<uint64_t> hinted = HintedSequences(Files(0));
  EXPECT_EQ(hinted, std::set<uint64_t>(sealed.begin(), sealed.end() - 1));
  // The next seal makes it due.
  for (int i = 60; i < 90 && SealedSegments(0) == sealed.size(); ++i) {
    Put(0, "key" + std::to_string(i), std::string(200, 'v'));
  }
  ASSERT_EQ(SealedSegments(0), sealed.size() + 1);
  EXPECT_TRUE(engine_->background_pending());  // the owner comes back soon
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_FALSE(engine_->background_pending());
  hinted = HintedSequences(Files(0));
  EXPECT_EQ(hinted.size(), sealed.size());
  EXPECT_TRUE(hinted.count(sealed.back()));
  // So does time.
  g_now_us += 60'000'000;
  RunUntilHinted();
  // Until its hint is there, recovery scans it: nothing is missing either way.
  Open();
  ExpectModels("reopened");
}

TEST_F(ReclaimTest, DamagedHintFilesFallBackToScanningAndAreRebuilt) {
  Open();
  Workload();
  RunUntilHinted();
  const uint64_t sealed = SealedSegments(0) + SealedSegments(1);
  engine_.reset();
  const std::vector<uint64_t> segments = Segments(0);
  ASSERT_GE(segments.size(), 6u);
  auto hint_path = [&](size_t i) { return NsDir(0) + "/" + HintFileName(segments[i]); };
  {
    std::string torn = testing::ReadFile(hint_path(0));
    testing::WriteFile(hint_path(0), torn.substr(0, torn.size() - 1));
  }
  {
    std::string flipped = testing::ReadFile(hint_path(1));
    flipped[flipped.size() / 2] ^= 0x10;
    testing::WriteFile(hint_path(1), flipped);
  }
  testing::WriteFile(hint_path(2), "");
  // A valid hint of another segment.
  testing::WriteFile(hint_path(3), testing::ReadFile(hint_path(4)));
  {
    // A well-formed hint that does not describe the segment's current size.
    std::string wrong_size = testing::ReadFile(hint_path(4));
    wrong_size[32] ^= 0x01;  // segment_size
    const size_t body = wrong_size.size() - 4;
    EncodeFixed32(wrong_size.data() + body, crc32c::Value(wrong_size.data(), body));
    testing::WriteFile(hint_path(4), wrong_size);
  }

  Open();
  ExpectModels("reopened with damaged hints");
  EXPECT_EQ(engine_->recovery_stats().hint_files, sealed - 5);
  EXPECT_EQ(engine_->recovery_stats().corrupt_records, 0u);
  RunUntilHinted();  // rebuilt
  Open();
  EXPECT_EQ(engine_->recovery_stats().hint_files, sealed);
  ExpectModels("reopened with rebuilt hints");
}

TEST_F(ReclaimTest, LeftoverTemporaryAndOrphanHintFilesAreRemovedAtOpen) {
  Open();
  Workload();
  engine_.reset();
  testing::WriteFile(NsDir(0) + "/" + SegmentFileName(7) + ".tmp", "half an output");
  testing::WriteFile(NsDir(0) + "/" + HintFileName(3) + ".tmp", "half a hint");
  testing::WriteFile(NsDir(0) + "/" + HintFileName(5), "a hint whose segment is gone");
  Open();
  ExpectModels("reopened");
  ExpectTidyDirectories();
  EXPECT_FALSE(Files(0).count(HintFileName(5)));
}

// ---- Reclaim --------------------------------------------------------------------------------

TEST_F(ReclaimTest, ReclaimLosesNothingAndResurrectsNothing) {
  Open();
  Workload();
  // The expiry sweep writes a tombstone for each expired key (watchers see expiries): let it
  // finish first, so that reclaim runs over a log that no longer changes.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  const std::vector<uint64_t> before = Segments(0);
  ASSERT_GE(before.size(), 10u);
  engine_->RequestReclaim();
  // Namespaces 0, 1 and 2 (whose only, active, segment is sealed for the purpose).
  RunUntilReclaimed(3);
  EXPECT_EQ(engine_->Stats().reclaim_runs, 3u);
  ExpectModels("after reclaim");
  ExpectTidyDirectories();
  for (uint64_t old : before) {
    EXPECT_FALSE(Files(0).count(SegmentFileName(old))) << "input " << old << " still there";
  }
  // The outputs sort between the inputs and the next log segment.
  for (uint64_t seq : Segments(0)) {
    EXPECT_GT(seq, before.back());
    EXPECT_LT(seq, NextLogSequence(before.back()));
  }
  EXPECT_LT(Segments(0).size(), before.size());

  Open();
  ExpectModels("reopened after reclaim");
  RunUntilHinted();
  Open();
  EXPECT_GT(engine_->recovery_stats().hint_files, 0u);
  ExpectModels("reopened from the outputs' hints");
  // Writes go to a new log segment after the outputs; reclaiming again works.
  Put(0, "later", "l");
  EXPECT_EQ(Segments(0).back(), NextLogSequence(before.back()));
  engine_->RequestReclaim();
  RunUntilReclaimed(3);  // counted since the last Open
  EXPECT_EQ(engine_->Stats().reclaim_runs, 3u);
  ExpectModels("after a second reclaim");
  Open();
  ExpectModels("reopened after a second reclaim");
}

TEST_F(ReclaimTest, RevisionsAndTheClockSurviveReclaim) {
  Open();
  Workload();
  std::map<std::string, uint64_t> revisions;
  for (const auto& [key, entry] : models_[0]) revisions[key] = engine_->Get(0, key)->revision;
  engine_->RequestReclaim();
  RunUntilReclaimed(3);
  for (const auto& [key, revision] : revisions) {
    EXPECT_EQ(engine_->Get(0, key)->revision, revision) << key;
  }
  g_now_us -= 60'000'000;  // the wall clock steps back
  Open();
  uint64_t highest = 0;
  for (const auto& [key, revision] : revisions) {
    EXPECT_EQ(engine_->Get(0, key)->revision, revision) << key;
    highest = std::max(highest, revision);
  }
  EXPECT_GT(engine_->Put(0, "next", "n", {})->revision, highest);
}

TEST_F(ReclaimTest, WritesBetweenReclaimStepsAreKept) {
  Open();
  Workload();
  log_engine().SetBackgroundStepLimitForTesting(1);
  engine_->RequestReclaim();
  int step = 0;
  for (; step < 100'000 && engine_->Stats().reclaim_runs < 3; ++step) {
    ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    // Touch keys whose records are being copied, at different moments of the run.
    const std::string key = "key" + std::to_string(110 + step % 30);
    switch (step % 7) {
      case 0:
        Put(0, key, "during" + std::to_string(step));
        break;
      case 1:
        if (models_[0].count(key)) Delete(0, key);
        break;
      case 2:
        if (models_[0].count(key)) SetExpiry(0, key, NowMs() + 1'000'000 + step);
        break;
      case 3:
        if (step % 5 == 0) {
          ASSERT_TRUE(engine_->Flush(1).ok());
          ASSERT_TRUE(engine_->Commit().ok());
          models_[1].clear();
        }
        Put(1, "n" + std::to_string(step), "z");
        break;
      default:
        break;
    }
  }
  EXPECT_GT(step, 20);  // the run really was spread over many calls
  ExpectModels("after reclaim with writes in between");
  Open();
  ExpectModels("reopened");
}

TEST_F(ReclaimTest, ACrashAtAnyStepOfReclaimLosesNothing) {
  // Each iteration replays the same history, then crashes the reclaim after one more
  // mutating file operation than the last; unsynced data is dropped as a power loss would.
  int64_t ops = 0;
  for (;; ++ops) {
    SCOPED_TRACE("crash after " + std::to_string(ops) + " operations");
    StartOver();
    Workload();
    Open();  // everything so far is durable
    log_engine().SetBackgroundStepLimitForTesting(3);
    env_.crash_after_ops = ops;
    engine_->RequestReclaim();
    RunUntilReclaimed(3);
    const bool crashed = env_.crashed();
    engine_.reset();
    env_.DropUnsyncedData();

    Open();
    ExpectModels("reopened after the crash");
    ExpectTidyDirectories();
    if (HasFailure()) break;
    // The engine goes on: a new reclaim completes, and its result survives a reopen.
    engine_->RequestReclaim();
    RunUntilReclaimed(3);
    ExpectModels("after reclaiming again");
    Open();
    ExpectModels("reopened again");
    if (HasFailure() || !crashed) break;
  }
  EXPECT_GT(ops, 50);  // every step was hit
}

// An automatic run whose inputs hold no live record (dropped unread, see below), crashed after
// each of its file operations: nothing lost, nothing resurrected (a key deleted in a middle
// input stays deleted: the inputs go oldest first).
TEST_F(ReclaimTest, ACrashWhileDroppingInputsUnreadLosesNothing) {
  options_.reclaim_sealed_threshold = 4;
  options_.reclaim_interval_secs = 3600;
  options_.segment_bytes = 4096;
  int64_t ops = 0;
  for (;; ++ops) {
    SCOPED_TRACE("crash after " + std::to_string(ops) + " operations");
    StartOver();
    Put(0, "gone", std::string(100, 'g'));
    for (int round = 0; round < 12; ++round) {
      for (int i = 0; i < 10; ++i) Put(0, "hot" + std::to_string(i), std::string(200, 'a' + round));
      if (round == 3) Delete(0, "gone");
    }
    ASSERT_TRUE(engine_->SyncAll().ok());
    log_engine().SetBackgroundStepLimitForTesting(1);
    env_.crash_after_ops = ops;
    RunUntilReclaimed(1);
    const bool crashed = env_.crashed();
    if (!crashed) EXPECT_GE(engine_->Stats().reclaim_inputs_unread, 3u);
    engine_.reset();
    env_.DropUnsyncedData();

    Open();
    ExpectModels("reopened after the crash");
    ExpectTidyDirectories();
    if (HasFailure() || !crashed) break;
  }
  EXPECT_GT(ops, 10);  // every step was hit: the floor, an unlink and a fsync per input
}

// An input goes only once what superseded its records is durable: here "k"'s newer record is
// in the active segment, not yet synced (--fsync everysec), when the run drops the input
// holding its older one. A power loss right after the run must leave one of the two.
TEST_F(ReclaimTest, InputsGoOnlyOnceWhatSupersededThemIsDurable) {
  options_.reclaim_sealed_threshold = 4;
  options_.reclaim_interval_secs = 3600;
  options_.segment_bytes = 4096;
  for (const bool requested : {false, true}) {
    SCOPED_TRACE(requested ? "requested" : "automatic");
    StartOver();
    Put(0, "k", "old");
    for (int round = 0; round < 12; ++round) {
      for (int i = 0; i < 10; ++i) Put(0, "f" + std::to_string(i), std::string(200, 'a' + round));
    }
    ASSERT_TRUE(engine_->SyncAll().ok());
    ASSERT_TRUE(engine_->Put(0, "k", "new", {}).ok());
    ASSERT_TRUE(engine_->Commit().ok());
    if (requested) {
      // A requested run seals the active segment itself; the last put goes in a new one.
      engine_->RequestReclaim();
      ASSERT_TRUE(engine_->RunBackgroundWork().ok());
      ASSERT_TRUE(engine_->Put(0, "k", "newer", {}).ok());
      ASSERT_TRUE(engine_->Commit().ok());
    }
    RunUntilReclaimed(1);
    ASSERT_EQ(engine_->Stats().reclaim_runs, 1u);
    env_.crash_after_ops = 0;  // the power goes
    engine_.reset();
    env_.DropUnsyncedData();
    Open();
    absl::StatusOr<Entry> k = engine_->Get(0, "k");
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_TRUE(k->value == "old" || k->value == "new" || k->value == "newer") << k->value;
  }
}

TEST_F(ReclaimTest, DiskUsageAfterReclaimIsWithinOneAndAHalfTimesLiveData) {
  options_.segment_bytes = 64 << 10;
  Open();
  const std::string value(1000, 'v');
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(engine_->Put(0, "key" + std::to_string(i), value, {}).ok());
    }
    ASSERT_TRUE(engine_->Commit().ok());
  }
  const uint64_t live = engine_->Stats().namespaces[0].live_bytes;
  EXPECT_GT(DiskBytes(0), 4 * live);
  engine_->RequestReclaim();
  RunUntilReclaimed(1);
  RunUntilHinted();
  const NamespaceStats stats = engine_->Stats().namespaces[0];
  EXPECT_EQ(stats.live_bytes, live);
  EXPECT_LE(stats.log_bytes, live * 3 / 2);
  EXPECT_LE(DiskBytes(0), live * 3 / 2);  // segments and their hints
  Open();
  EXPECT_EQ(*engine_->KeyCount(0), 300u);
  EXPECT_EQ(engine_->Get(0, "key7")->value, value);
}

TEST_F(ReclaimTest, AutomaticReclaimNeedsEnoughSealedSegmentsAndGarbage) {
  options_.reclaim_sealed_threshold = 4;
  options_.reclaim_interval_secs = 60;
  options_.segment_bytes = 4096;
  Open();
  const std::string value(200, 'v');
  // Distinct keys only: sealed segments, but no garbage.
  for (int i = 0; i < 200; ++i) Put(0, "fresh" + std::to_string(i), value);
  ASSERT_GE(SealedSegments(0), 4u);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  g_now_us += 61'000'000;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_EQ(engine_->Stats().reclaim_runs, 0u);

  // Overwrites: garbage, found when the segments holding it seal (no interval to wait for).
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) Put(0, "fresh" + std::to_string(i), value + "!");
  }
  const std::vector<uint64_t> before = Segments(0);
  const uint64_t newest_sealed = before[before.size() - 2];  // the last one is active
  RunUntilReclaimed(1);
  EXPECT_EQ(engine_->Stats().reclaim_runs, 1u);
  EXPECT_LT(SealedSegments(0), before.size() - 1);
  // The newest sealed segment was left out: its records are the likeliest to be overwritten.
  const std::vector<uint64_t> after = Segments(0);
  EXPECT_NE(std::find(after.begin(), after.end(), newest_sealed), after.end());
  ExpectModels("after the automatic reclaim");
  // Dense outputs are not rewritten again at the next check.
  g_now_us += 61'000'000;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_EQ(engine_->Stats().reclaim_runs, 1u);
}

TEST_F(ReclaimTest, GarbageMadeWithoutSealingIsFoundAtTheInterval) {
  options_.reclaim_sealed_threshold = 4;
  options_.reclaim_interval_secs = 60;
  options_.segment_bytes = 4096;
  Open();
  for (int i = 0; i < 200; ++i) Put(0, "fresh" + std::to_string(i), std::string(200, 'v'));
  ASSERT_GE(SealedSegments(0), 5u);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_EQ(engine_->Stats().reclaim_runs, 0u);
  // One small flush record makes every sealed record garbage and seals nothing.
  const uint64_t sealed = SealedSegments(0);
  ASSERT_TRUE(engine_->Flush(0).ok());
  ASSERT_TRUE(engine_->Commit().ok());
  models_[0].clear();
  ASSERT_EQ(SealedSegments(0), sealed);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_EQ(engine_->Stats().reclaim_runs, 0u);  // not checked again before the interval
  g_now_us += 60'000'000;
  RunUntilReclaimed(1);
  EXPECT_EQ(engine_->Stats().reclaim_runs, 1u);
  EXPECT_EQ(SealedSegments(0), 1u);  // the newest
  ExpectModels("after the reclaim at the interval");
}

// Under steady overwrites of a few keys every segment but the newest holds no live record: an
// automatic run drops those without reading them, the replay floor still moves above every
// revision they held, and replay from there is complete.
TEST_F(ReclaimTest, SegmentsWithoutLiveRecordsAreDroppedUnread) {
  options_.reclaim_sealed_threshold = 4;
  options_.reclaim_interval_secs = 3600;
  options_.hint_delay_secs = 60;
  options_.segment_bytes = 4096;
  Open();
  std::vector<uint64_t> revisions;  // of every put, in order
  bool checked_hints = false;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 10; ++i) {
      const std::string key = "hot" + std::to_string(i);
      absl::StatusOr<PutResult> put =
          engine_->Put(0, key, std::string(200, 'a' + round % 26), {});
      ASSERT_TRUE(put.ok()) << put.status();
      ASSERT_TRUE(engine_->Commit().ok());
      revisions.push_back(put->revision);
      models_[0][key] = Entry{std::string(200, 'a' + round % 26), "", 0, 0};
      for (int j = 0; j < 10; ++j) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
      if (!checked_hints && SealedSegments(0) == 3) {
        // Below the threshold: no reclaim yet, and no hint either: the older two hold no live
        // record (reclaim will drop them unread), the newest waits.
        checked_hints = true;
        for (int j = 0; j < 1000; ++j) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
        EXPECT_EQ(engine_->Stats().reclaim_runs, 0u);
        EXPECT_EQ(HintedSequences(Files(0)).size(), 0u);
      }
    }
  }
  ASSERT_TRUE(checked_hints);
  RunUntilReclaimed(1);
  ASSERT_GE(engine_->Stats().reclaim_runs, 1u);
  EXPECT_GE(engine_->Stats().reclaim_inputs_unread, 3u);
  EXPECT_LE(SealedSegments(0), 4u);
  EXPECT_EQ(engine_->Stats().corrupt_records, 0u);
  EXPECT_EQ(HintedSequences(Files(0)).size(), 0u);
  ExpectModels("after dropping segments unread");

  // Replay: refused below the floor, complete from it.
  size_t first_ok = revisions.size();
  for (size_t i = 0; i < revisions.size(); ++i) {
    std::vector<uint64_t> seen;
    absl::Status s = engine_->Replay(0, revisions[i], [&seen](const Change& change) {
      seen.push_back(change.revision);
    });
    if (!s.ok()) {
      EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
      ASSERT_EQ(first_ok, revisions.size()) << "refused at " << i << " after accepting earlier";
      continue;
    }
    if (first_ok == revisions.size()) first_ok = i;
    EXPECT_EQ(seen, std::vector<uint64_t>(revisions.begin() + i + 1, revisions.end()))
        << "replay since put " << i;
  }
  EXPECT_GT(first_ok, 0u);  // history was dropped
  EXPECT_LT(first_ok, revisions.size() - 1);

  // Reopened, the segments' revisions are not known: a requested reclaim reads them.
  Open();
  const uint64_t unread = engine_->Stats().reclaim_inputs_unread;
  EXPECT_EQ(unread, 0u);  // counted since Open
  engine_->RequestReclaim();
  RunUntilReclaimed(1);
  EXPECT_EQ(engine_->Stats().reclaim_inputs_unread, 0u);
  ExpectModels("after reopening and reclaiming");
}

TEST_F(ReclaimTest, DamagedRecordInAnInputIsDroppedAndCounted) {
  Open();
  for (int i = 0; i < 60; ++i) Put(0, "k" + std::to_string(i), "value-" + std::to_string(i));
  ASSERT_GE(SealedSegments(0), 2u);
  // Bit rot under the running engine, in the first segment: the value of "k0".
  const std::string path = NsDir(0) + "/" + SegmentFileName(kFirstSequence);
  std::string bytes = testing::ReadFile(path);
  const size_t at = bytes.find("value-0");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x20;
  testing::WriteFile(path, bytes);
  models_[0].erase("k0");

  engine_->RequestReclaim();
  RunUntilReclaimed(1);
  EXPECT_EQ(engine_->Stats().corrupt_records, 1u);
  ExpectModels("after reclaim");
  Open();
  ExpectModels("reopened");
}

TEST_F(ReclaimTest, FailedOutputWriteAbortsAndKeepsEverything) {
  Open();
  Workload();
  log_engine().SetBackgroundStepLimitForTesting(1);
  engine_->RequestReclaim();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  ASSERT_EQ(engine_->Stats().reclaim_runs, 0u);
  env_.disk_full = true;
  absl::Status failed;
  for (int i = 0; i < 50; ++i) {
    absl::Status s = engine_->RunBackgroundWork();
    if (failed.ok()) failed = s;
  }
  env_.disk_full = false;
  EXPECT_TRUE(absl::IsResourceExhausted(failed)) << failed;
  EXPECT_EQ(engine_->Stats().reclaim_runs, 0u);
  ExpectModels("after the aborted reclaim");
  ExpectTidyDirectories();
  Open();
  ExpectModels("reopened after the aborted reclaim");
  engine_->RequestReclaim();
  RunUntilReclaimed(3);
  ExpectModels("after a reclaim that succeeded");
}

}  // namespace
}  // namespace beyondkv::engine
