// Behaviour of the Engine API on a live engine: reads, writes, conditions, expiry, revisions,
// batching, limits, syncing and Commit() failures. Recovery: engine_recovery_test.cc.
#include "engine/engine.h"

#include <memory>
#include <string>

#include "engine/log_engine.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

using Condition = PutOptions::Condition;

constexpr int64_t kStartUs = 1'700'000'000'000'000;  // 2023-11-14, in µs
int64_t g_now_us = kStartUs;
int64_t FakeNow() { return g_now_us; }
int64_t NowMs() { return g_now_us / 1000; }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now_us = kStartUs;
    options_.now_us = FakeNow;
  }

  Engine& Open() {
    engine_.reset();
    absl::StatusOr<std::unique_ptr<Engine>> engine = LogEngine::Open(options_, dir_.path(), &env_);
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    return *engine_;
  }

  PutResult Put(uint32_t ns, std::string_view key, std::string_view value,
                PutOptions options = {}) {
    absl::StatusOr<PutResult> r = engine_->Put(ns, key, value, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PutResult{};
  }

  void PutAndCommit(uint32_t ns, std::string_view key, std::string_view value) {
    Put(ns, key, value);
    ASSERT_TRUE(engine_->Commit().ok());
  }

  // The value of `key`, or "<NotFound>" / the error.
  std::string Value(uint32_t ns, std::string_view key) {
    absl::StatusOr<Entry> e = engine_->Get(ns, key);
    if (absl::IsNotFound(e.status())) return "<NotFound>";
    if (!e.ok()) return e.status().ToString();
    return e->value;
  }

  std::string SegmentPath(uint32_t ns, uint64_t sequence = 1) const {
    return dir_.path() + "/" + NamespaceDirName(ns) + "/" + SegmentFileName(sequence);
  }

  testing::TempDir dir_;
  testing::FaultInjectionEnv env_;
  Options options_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, PutThenGetReturnsValueRevisionAndExpiry) {
  Open();
  PutOptions options;
  options.expire_at_ms = NowMs() + 5000;
  const PutResult r = Put(0, "k", "v", options);
  EXPECT_TRUE(r.written);
  EXPECT_FALSE(r.had_old);
  ASSERT_TRUE(engine_->Commit().ok());
  absl::StatusOr<Entry> e = engine_->Get(0, "k");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->value, "v");
  EXPECT_EQ(e->revision, r.revision);
  EXPECT_EQ(e->expire_at_ms, NowMs() + 5000);
}

TEST_F(EngineTest, MissingKeyIsNotFound) {
  Open();
  EXPECT_TRUE(absl::IsNotFound(engine_->Get(0, "nope").status()));
  EXPECT_FALSE(*engine_->Exists(0, "nope"));
}

TEST_F(EngineTest, DeleteRemovesAndReportsWhetherTheKeyExisted) {
  Open();
  PutAndCommit(0, "k", "v");
  EXPECT_TRUE(*engine_->Exists(0, "k"));
  EXPECT_TRUE(*engine_->Delete(0, "k"));
  EXPECT_FALSE(*engine_->Delete(0, "k"));
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "k"), "<NotFound>");
  EXPECT_FALSE(*engine_->Exists(0, "k"));
  EXPECT_EQ(*engine_->KeyCount(0), 0u);
}

TEST_F(EngineTest, OverwriteReplacesTheValue) {
  Open();
  PutAndCommit(0, "k", "one");
  const PutResult r = Put(0, "k", "two");
  EXPECT_TRUE(r.had_old);
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "k"), "two");
  EXPECT_EQ(*engine_->KeyCount(0), 1u);
}

TEST_F(EngineTest, NamespaceOutOfRangeIsInvalidArgument) {
  Open();
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->Get(kNamespaceCount, "k").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->Exists(kNamespaceCount, "k").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->Put(kNamespaceCount, "k", "v", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->Delete(kNamespaceCount, "k").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->KeyCount(kNamespaceCount).status()));
}

TEST_F(EngineTest, IfAbsentWritesOnlyWhenTheKeyIsMissing) {
  Open();
  PutOptions nx;
  nx.condition = Condition::kIfAbsent;
  EXPECT_TRUE(Put(0, "k", "first", nx).written);
  const PutResult second = Put(0, "k", "second", nx);
  EXPECT_FALSE(second.written);
  EXPECT_TRUE(second.had_old);
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "k"), "first");
}

TEST_F(EngineTest, IfPresentWritesOnlyWhenTheKeyExists) {
  Open();
  PutOptions xx;
  xx.condition = Condition::kIfPresent;
  const PutResult missing = Put(0, "k", "v", xx);
  EXPECT_FALSE(missing.written);
  EXPECT_FALSE(missing.had_old);
  EXPECT_EQ(Value(0, "k"), "<NotFound>");
  Put(0, "k", "v1");
  EXPECT_TRUE(Put(0, "k", "v2", xx).written);
  EXPECT_EQ(Value(0, "k"), "v2");
}

TEST_F(EngineTest, ExpiredKeyIsAbsentForGetExistsAndConditions) {
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 1000;
  Put(0, "k", "v", ttl);
  ASSERT_TRUE(engine_->Commit().ok());
  g_now_us += 999'000;
  EXPECT_EQ(Value(0, "k"), "v");
  g_now_us += 1'000;  // now == expire_at: expired
  EXPECT_EQ(Value(0, "k"), "<NotFound>");
  EXPECT_FALSE(*engine_->Exists(0, "k"));
  EXPECT_FALSE(*engine_->Delete(0, "k"));

  PutOptions xx;
  xx.condition = Condition::kIfPresent;
  EXPECT_FALSE(Put(0, "k", "x", xx).written);
  PutOptions nx;
  nx.condition = Condition::kIfAbsent;
  const PutResult r = Put(0, "k", "fresh", nx);
  EXPECT_TRUE(r.written);
  EXPECT_FALSE(r.had_old);
  EXPECT_EQ(Value(0, "k"), "fresh");
}

TEST_F(EngineTest, KeyCountDropsExpiredKeysOnceAccessed) {
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 10;
  Put(0, "a", "1", ttl);
  Put(0, "b", "2");
  ASSERT_TRUE(engine_->Commit().ok());
  g_now_us += 10'000;
  EXPECT_EQ(*engine_->KeyCount(0), 2u);  // documented: counted until accessed
  EXPECT_FALSE(*engine_->Exists(0, "a"));
  EXPECT_EQ(*engine_->KeyCount(0), 1u);
}

TEST_F(EngineTest, KeepTtlKeepsTheLiveEntrysExpiry) {
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 60'000;
  Put(0, "k", "v1", ttl);
  PutOptions keep;
  keep.keep_ttl = true;
  keep.expire_at_ms = 123;  // ignored under keep_ttl
  Put(0, "k", "v2", keep);
  EXPECT_EQ(engine_->Get(0, "k")->expire_at_ms, NowMs() + 60'000);
  EXPECT_EQ(Value(0, "k"), "v2");

  Put(0, "k", "v3");  // a plain SET clears the TTL
  EXPECT_EQ(engine_->Get(0, "k")->expire_at_ms, 0);

  Put(0, "gone", "x", ttl);
  g_now_us += 61'000'000;
  Put(0, "gone", "y", keep);  // the old entry expired: nothing to keep
  EXPECT_EQ(engine_->Get(0, "gone")->expire_at_ms, 0);
}

TEST_F(EngineTest, OldValueIsReturnedWhenAsked) {
  Open();
  std::string old = "stale";
  absl::StatusOr<PutResult> r = engine_->Put(0, "k", "v1", {}, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->had_old);
  EXPECT_EQ(old, "");
  ASSERT_TRUE(engine_->Commit().ok());

  r = engine_->Put(0, "k", "v2", {}, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->had_old);
  EXPECT_EQ(old, "v1");  // read from the file

  PutOptions nx;
  nx.condition = Condition::kIfAbsent;
  r = engine_->Put(0, "k", "v3", nx, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->written);
  EXPECT_EQ(old, "v2");  // SET NX GET: the value that blocked the write, from staging
}

TEST_F(EngineTest, RevisionsStrictlyIncreaseAndCarryTheShardId) {
  options_.shard_id = 5;
  options_.shard_count = 8;
  Open();
  uint64_t prev = 0;
  for (int i = 0; i < 100; ++i) {  // the clock stands still
    const PutResult r = Put(0, "k" + std::to_string(i % 7), "v");
    EXPECT_GT(r.revision, prev);
    EXPECT_EQ(r.revision & 0xFF, 5u);
    prev = r.revision;
  }
  EXPECT_GE(prev >> 8, static_cast<uint64_t>(kStartUs));
  g_now_us -= 5'000'000;  // the wall clock steps back
  EXPECT_GT(Put(0, "k", "v").revision, prev);
  g_now_us += 60'000'000;
  EXPECT_EQ(Put(0, "k", "v").revision >> 8, static_cast<uint64_t>(g_now_us));
}

TEST_F(EngineTest, NamespacesAreIndependent) {
  Open();
  Put(0, "k", "zero");
  Put(15, "k", "fifteen");
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "k"), "zero");
  EXPECT_EQ(Value(15, "k"), "fifteen");
  EXPECT_EQ(Value(1, "k"), "<NotFound>");
  EXPECT_TRUE(*engine_->Delete(0, "k"));
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(15, "k"), "fifteen");
  EXPECT_EQ(*engine_->KeyCount(0), 0u);
  EXPECT_EQ(*engine_->KeyCount(15), 1u);
  EXPECT_TRUE(*env_.Exists(SegmentPath(0)));
  EXPECT_TRUE(*env_.Exists(SegmentPath(15)));
  EXPECT_FALSE(*env_.Exists(dir_.path() + "/ns-1"));
}

TEST_F(EngineTest, EmptyShardCreatesOnlyItsManifest) {
  Open();
  EXPECT_EQ(Value(3, "k"), "<NotFound>");
  ASSERT_TRUE(engine_->Commit().ok());
  engine_.reset();
  EXPECT_EQ(*env_.ListDir(dir_.path()), std::vector<std::string>{"MANIFEST"});
}

TEST_F(EngineTest, ReadsWithinABatchSeeStagedWritesBeforeCommit) {
  Open();
  PutAndCommit(0, "committed", "old");
  Put(0, "new", "staged");
  Put(0, "committed", "overwritten");
  EXPECT_TRUE(*engine_->Delete(0, "new"));
  Put(0, "new", "again");
  EXPECT_EQ(Value(0, "new"), "again");
  EXPECT_EQ(Value(0, "committed"), "overwritten");
  EXPECT_EQ(testing::FileSize(SegmentPath(0)),
            kSegmentHeaderSize + EncodedRecordSize(9, 0, 3));
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "new"), "again");
  EXPECT_EQ(Value(0, "committed"), "overwritten");
}

TEST_F(EngineTest, LargeValueRoundTrips) {
  Open();
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 2654435761u >> 24);
  Put(0, "big", big);
  EXPECT_EQ(Value(0, "big"), big);  // from staging
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "big"), big);  // from the file
  Open();
  EXPECT_EQ(Value(0, "big"), big);  // after recovery
}

TEST_F(EngineTest, ValueOverMaxValueBytesIsRefused) {
  options_.max_value_bytes = 1024;
  Open();
  EXPECT_TRUE(engine_->Put(0, "k", std::string(1024, 'x'), {}).ok());
  absl::StatusOr<PutResult> r = engine_->Put(0, "k2", std::string(1025, 'x'), {});
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_EQ(Value(0, "k2"), "<NotFound>");
}

TEST_F(EngineTest, KeyOverTheLimitIsRefused) {
  Open();
  EXPECT_TRUE(engine_->Put(0, std::string(kMaxKeyBytes, 'k'), "v", {}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->Put(0, std::string(kMaxKeyBytes + 1, 'k'), "v", {}).status()));
}

TEST_F(EngineTest, BadOptionsAreInvalidArgument) {
  options_.shard_id = 2;
  options_.shard_count = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(LogEngine::Open(options_, dir_.path(), &env_).status()));
  options_.shard_id = 0;
  options_.shard_count = 300;
  EXPECT_TRUE(absl::IsInvalidArgument(LogEngine::Open(options_, dir_.path(), &env_).status()));
  options_.shard_count = 1;
  options_.max_value_bytes = 2ull << 30;
  EXPECT_TRUE(absl::IsInvalidArgument(LogEngine::Open(options_, dir_.path(), &env_).status()));
}

TEST_F(EngineTest, OpenCreatesMissingDirectories) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Open(options_, dir_.path() + "/data/shard-0");
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE(*env_.Exists(dir_.path() + "/data/shard-0/MANIFEST"));
}

// ---- Syncing --------------------------------------------------------------------------------
// A failing fdatasync makes each sync attempt visible.

TEST_F(EngineTest, EverySecSyncsOnlyOnceASecondHasPassed) {
  options_.fsync = FsyncPolicy::kEverySec;
  Open();
  PutAndCommit(0, "k", "v");  // no sync in Commit under everysec
  env_.fail_syncs = true;
  g_now_us += 500'000;
  EXPECT_TRUE(engine_->MaybeSyncPeriodic().ok());  // too early: no sync attempted
  g_now_us += 500'000;
  EXPECT_FALSE(engine_->MaybeSyncPeriodic().ok());
}

TEST_F(EngineTest, NeverPolicyDoesNotSyncPeriodically) {
  options_.fsync = FsyncPolicy::kNever;
  Open();
  PutAndCommit(0, "k", "v");
  env_.fail_syncs = true;
  g_now_us += 10'000'000;
  EXPECT_TRUE(engine_->MaybeSyncPeriodic().ok());
  EXPECT_FALSE(engine_->SyncAll().ok());  // SyncAll syncs whatever the policy
  env_.fail_syncs = false;
}

TEST_F(EngineTest, SyncAllWithNothingWrittenSucceeds) {
  Open();
  env_.fail_syncs = true;
  EXPECT_TRUE(engine_->SyncAll().ok());
  env_.fail_syncs = false;
}

// ---- Commit failures ------------------------------------------------------------------------

TEST_F(EngineTest, FailedWriteRollsBackTheWholeBatch) {
  Open();
  PutAndCommit(0, "a", "old");
  PutAndCommit(1, "x", "old");
  const uint64_t size0 = testing::FileSize(SegmentPath(0));

  Put(0, "a", "new");
  Put(0, "b", "new");
  EXPECT_TRUE(*engine_->Delete(1, "x"));
  env_.fail_writes = true;  // half of each write reaches the file
  EXPECT_FALSE(engine_->Commit().ok());
  env_.fail_writes = false;

  EXPECT_EQ(Value(0, "a"), "old");
  EXPECT_EQ(Value(0, "b"), "<NotFound>");
  EXPECT_EQ(Value(1, "x"), "old");
  EXPECT_EQ(testing::FileSize(SegmentPath(0)), size0);  // partial record cut off

  // The engine goes on; what follows lands right after the last good record.
  PutAndCommit(0, "c", "after");
  Open();
  EXPECT_EQ(Value(0, "a"), "old");
  EXPECT_EQ(Value(0, "b"), "<NotFound>");
  EXPECT_EQ(Value(0, "c"), "after");
  EXPECT_EQ(Value(1, "x"), "old");
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 0u);
}

TEST_F(EngineTest, DiskFullOnFirstWriteLeavesNothingBehind) {
  Open();
  Put(2, "k", "v");
  env_.disk_full = true;
  absl::Status s = engine_->Commit();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  env_.disk_full = false;
  EXPECT_EQ(Value(2, "k"), "<NotFound>");
  PutAndCommit(2, "k", "v2");
  EXPECT_EQ(Value(2, "k"), "v2");
}

TEST_F(EngineTest, FailedSyncUnderAlwaysRollsBackAndStopsWritesToThatNamespace) {
  options_.fsync = FsyncPolicy::kAlways;
  Open();
  PutAndCommit(0, "a", "old");
  PutAndCommit(1, "other", "v");
  Put(0, "a", "new");
  env_.fail_syncs = true;
  EXPECT_FALSE(engine_->Commit().ok());
  env_.fail_syncs = false;

  EXPECT_EQ(Value(0, "a"), "old");  // reads go on
  EXPECT_FALSE(engine_->Put(0, "a", "again", {}).ok());
  EXPECT_FALSE(engine_->Delete(0, "a").ok());
  PutAndCommit(1, "other", "still writable");
  EXPECT_EQ(Value(1, "other"), "still writable");

  Open();  // reopening clears the condition
  EXPECT_EQ(Value(0, "a"), "old");
  PutAndCommit(0, "a", "after reopen");
  EXPECT_EQ(Value(0, "a"), "after reopen");
}

}  // namespace
}  // namespace beyondkv::engine
