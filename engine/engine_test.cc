// Behaviour of the Engine API on a live engine: reads, writes, conditions, expiry, revisions,
// batching, limits, syncing and Commit() failures. Recovery: engine_recovery_test.cc.
#include "engine/engine.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

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
  EXPECT_TRUE(engine_->Delete(0, "k")->deleted);
  EXPECT_FALSE(engine_->Delete(0, "k")->deleted);
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
  EXPECT_FALSE(engine_->Delete(0, "k")->deleted);

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

TEST_F(EngineTest, OldEntryIsReturnedWhenAsked) {
  Open();
  Entry old{"stale", "stale", 9, 9};
  absl::StatusOr<PutResult> r = engine_->Put(0, "k", "v1", {}, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->had_old);
  EXPECT_EQ(old.value, "");
  EXPECT_EQ(old.metadata, "");
  EXPECT_EQ(old.revision, 0u);
  EXPECT_EQ(old.expire_at_ms, 0);
  ASSERT_TRUE(engine_->Commit().ok());

  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 5000;
  ttl.metadata = "m2";
  r = engine_->Put(0, "k", "v2", ttl, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->had_old);
  EXPECT_EQ(old.value, "v1");  // read from the file
  const uint64_t rev2 = r->revision;

  PutOptions nx;
  nx.condition = Condition::kIfAbsent;
  r = engine_->Put(0, "k", "v3", nx, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->written);
  EXPECT_EQ(r->revision, 0u);
  // SET NX GET: the entry that blocked the write, from staging.
  EXPECT_EQ(old.value, "v2");
  EXPECT_EQ(old.metadata, "m2");
  EXPECT_EQ(old.revision, rev2);
  EXPECT_EQ(old.expire_at_ms, NowMs() + 5000);
}

TEST_F(EngineTest, RevisionsStrictlyIncreaseAndCarryTheShardId) {
  options_.shard_id = 5;
  options_.shard_count = 8;
  g_now_us = 1'796'000'000'000'000;  // 2026-12: after the revision epoch
  Open();
  uint64_t prev = 0;
  for (int i = 0; i < 100; ++i) {  // the clock stands still
    const PutResult r = Put(0, "k" + std::to_string(i % 7), "v");
    EXPECT_GT(r.revision, prev);
    EXPECT_EQ(r.revision & (kMaxShards - 1), 5u);
    EXPECT_LE(r.revision, kMaxRevision);  // exact as a JavaScript number
    prev = r.revision;
  }
  EXPECT_GE(prev >> kRevisionShardBits, RevisionClock::TickOf(g_now_us / 1000));
  g_now_us -= 5'000'000;  // the wall clock steps back
  EXPECT_GT(Put(0, "k", "v").revision, prev);
  g_now_us += 60'000'000;
  EXPECT_EQ(Put(0, "k", "v").revision >> kRevisionShardBits,
            RevisionClock::TickOf(g_now_us / 1000));  // back on the wall clock, in ms
}

TEST_F(EngineTest, NamespacesAreIndependent) {
  Open();
  Put(0, "k", "zero");
  Put(15, "k", "fifteen");
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "k"), "zero");
  EXPECT_EQ(Value(15, "k"), "fifteen");
  EXPECT_EQ(Value(1, "k"), "<NotFound>");
  EXPECT_TRUE(engine_->Delete(0, "k")->deleted);
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
  EXPECT_TRUE(engine_->Delete(0, "new")->deleted);
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

// ---- Conditions, metadata, old entries --------------------------------------------------------

TEST_F(EngineTest, IfRevisionWritesOnlyOnAMatchingRevision) {
  Open();
  PutOptions rev;
  rev.condition = Condition::kIfRevision;
  rev.if_revision = 0;  // only if absent
  const PutResult created = Put(0, "k", "v1", rev);
  ASSERT_TRUE(created.written);
  EXPECT_FALSE(created.had_old);
  EXPECT_FALSE(Put(0, "k", "again", rev).written);  // 0 no longer holds

  rev.if_revision = created.revision - 1;  // stale
  const PutResult stale = Put(0, "k", "v2", rev);
  EXPECT_FALSE(stale.written);
  EXPECT_TRUE(stale.had_old);
  EXPECT_EQ(stale.revision, 0u);
  EXPECT_EQ(Value(0, "k"), "v1");

  rev.if_revision = created.revision;
  const PutResult updated = Put(0, "k", "v2", rev);
  EXPECT_TRUE(updated.written);
  EXPECT_GT(updated.revision, created.revision);
  EXPECT_EQ(Value(0, "k"), "v2");
  EXPECT_FALSE(Put(0, "k", "v3", rev).written);  // the revision moved on

  rev.if_revision = 12345;
  EXPECT_FALSE(Put(0, "absent", "v", rev).written);
  EXPECT_EQ(Value(0, "absent"), "<NotFound>");
}

TEST_F(EngineTest, MetadataRoundTripsAndCanBeKept) {
  Open();
  PutOptions with_meta;
  with_meta.metadata = "{\"content-type\":\"text/plain\"}";
  Put(0, "k", "v1", with_meta);
  absl::StatusOr<Entry> staged = engine_->Get(0, "k");
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->metadata, with_meta.metadata);
  ASSERT_TRUE(engine_->Commit().ok());
  absl::StatusOr<Entry> e = engine_->Get(0, "k");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->value, "v1");
  EXPECT_EQ(e->metadata, with_meta.metadata);

  PutOptions keep;
  keep.keep_metadata = true;
  keep.metadata = "ignored";
  Put(0, "k", "v2", keep);
  ASSERT_TRUE(engine_->Commit().ok());
  e = engine_->Get(0, "k");
  EXPECT_EQ(e->value, "v2");
  EXPECT_EQ(e->metadata, with_meta.metadata);

  Put(0, "k", "v3");  // a plain put drops the metadata
  EXPECT_EQ(engine_->Get(0, "k")->metadata, "");
  Put(0, "new", "v", keep);  // nothing to keep
  EXPECT_EQ(engine_->Get(0, "new")->metadata, "");

  PutOptions too_big;
  too_big.metadata = std::string(kMaxMetaBytes + 1, 'm');
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->Put(0, "k", "v", too_big).status()));
}

TEST_F(EngineTest, GetWithoutValueReadsNothingUnlessThereIsMetadata) {
  options_.memory_bytes = 0;  // no value cache: a read with the value goes to the file
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 5000;
  const PutResult plain = Put(0, "plain", "value", ttl);
  PutOptions meta;
  meta.metadata = "m";
  Put(0, "meta", "value", meta);
  ASSERT_TRUE(engine_->Commit().ok());
  // Damage every value byte on disk: a read that touches a record now fails.
  std::string bytes = testing::ReadFile(SegmentPath(0));
  for (size_t pos = bytes.find("value"); pos != std::string::npos; pos = bytes.find("value")) {
    bytes[pos] = 'V';
  }
  testing::WriteFile(SegmentPath(0), bytes);

  ReadOptions no_value;
  no_value.value = false;
  absl::StatusOr<Entry> e = engine_->Get(0, "plain", no_value);
  ASSERT_TRUE(e.ok()) << e.status();  // no I/O
  EXPECT_EQ(e->value, "");
  EXPECT_EQ(e->revision, plain.revision);
  EXPECT_EQ(e->expire_at_ms, NowMs() + 5000);
  EXPECT_TRUE(absl::IsDataLoss(engine_->Get(0, "plain").status()));
  // Metadata is read (and verified) from the record.
  EXPECT_TRUE(absl::IsDataLoss(engine_->Get(0, "meta", no_value).status()));
  EXPECT_EQ(engine_->Stats().corrupt_records, 2u);
}

TEST_F(EngineTest, DeleteHonoursIfRevisionAndReturnsTheOldEntry) {
  Open();
  PutOptions meta;
  meta.metadata = "m";
  const PutResult put = Put(0, "k", "v", meta);
  ASSERT_TRUE(engine_->Commit().ok());

  DeleteOptions stale;
  stale.if_revision = put.revision + 1;
  Entry old;
  absl::StatusOr<DeleteResult> r = engine_->Delete(0, "k", stale, &old);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->condition_failed);
  EXPECT_FALSE(r->deleted);
  EXPECT_EQ(old.value, "v");  // filled whether or not the condition held
  EXPECT_EQ(old.metadata, "m");
  EXPECT_EQ(old.revision, put.revision);
  EXPECT_EQ(Value(0, "k"), "v");

  DeleteOptions absent;
  absent.if_revision = 0;
  EXPECT_TRUE(engine_->Delete(0, "k", absent)->condition_failed);

  DeleteOptions match;
  match.if_revision = put.revision;
  r = engine_->Delete(0, "k", match);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deleted);
  EXPECT_FALSE(r->condition_failed);
  EXPECT_GT(r->revision, put.revision);
  EXPECT_EQ(Value(0, "k"), "<NotFound>");

  // Absent key: 0 holds but there is nothing to delete; any other revision fails.
  r = engine_->Delete(0, "k", absent, &old);
  EXPECT_FALSE(r->deleted);
  EXPECT_FALSE(r->condition_failed);
  EXPECT_EQ(old.revision, 0u);
  EXPECT_TRUE(engine_->Delete(0, "k", match)->condition_failed);
  EXPECT_EQ(engine_->Delete(0, "k")->revision, 0u);
}

// ---- SetExpiry ------------------------------------------------------------------------------

TEST_F(EngineTest, SetExpirySetsPersistsAndDeletes) {
  Open();
  PutOptions meta;
  meta.metadata = "m";
  const PutResult put = Put(0, "k", "v", meta);
  ASSERT_TRUE(engine_->Commit().ok());
  const uint64_t size_before = testing::FileSize(SegmentPath(0));

  absl::StatusOr<uint64_t> rev = engine_->SetExpiry(0, "k", NowMs() + 1000);
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, put.revision);
  ASSERT_TRUE(engine_->Commit().ok());
  // An expire-only record: key, no value.
  EXPECT_EQ(testing::FileSize(SegmentPath(0)), size_before + EncodedRecordSize(1, 0, 0));
  absl::StatusOr<Entry> e = engine_->Get(0, "k");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->value, "v");
  EXPECT_EQ(e->metadata, "m");
  EXPECT_EQ(e->revision, *rev);
  EXPECT_EQ(e->expire_at_ms, NowMs() + 1000);

  absl::StatusOr<uint64_t> persist = engine_->SetExpiry(0, "k", 0);
  ASSERT_TRUE(persist.ok());
  EXPECT_GT(*persist, *rev);
  EXPECT_EQ(engine_->Get(0, "k")->expire_at_ms, 0);
  g_now_us += 2'000'000;
  EXPECT_EQ(Value(0, "k"), "v");

  absl::StatusOr<uint64_t> gone = engine_->SetExpiry(0, "k", NowMs());
  ASSERT_TRUE(gone.ok());
  EXPECT_GT(*gone, *persist);
  EXPECT_EQ(Value(0, "k"), "<NotFound>");
  EXPECT_TRUE(absl::IsNotFound(engine_->SetExpiry(0, "k", NowMs() + 1000).status()));
  ASSERT_TRUE(engine_->Commit().ok());
  Open();
  EXPECT_EQ(Value(0, "k"), "<NotFound>");
}

TEST_F(EngineTest, FailedCommitRollsBackExpiryChanges) {
  Open();
  PutAndCommit(0, "k", "v");
  ASSERT_TRUE(engine_->SetExpiry(0, "k", NowMs() + 10).ok());
  env_.disk_full = true;
  EXPECT_FALSE(engine_->Commit().ok());
  env_.disk_full = false;
  EXPECT_EQ(engine_->Get(0, "k")->expire_at_ms, 0);
}

// ---- Flush ----------------------------------------------------------------------------------

TEST_F(EngineTest, FlushEmptiesOneNamespace) {
  Open();
  Put(0, "a", "1");
  Put(0, "b", "2");
  Put(1, "a", "other");
  ASSERT_TRUE(engine_->Commit().ok());
  absl::StatusOr<uint64_t> rev = engine_->Flush(0);
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(*engine_->KeyCount(0), 0u);
  EXPECT_EQ(Value(0, "a"), "<NotFound>");
  Put(0, "c", "after");  // same batch, after the flush
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "c"), "after");
  EXPECT_EQ(Value(1, "a"), "other");
  EXPECT_GT(Put(0, "d", "x").revision, *rev);
}

TEST_F(EngineTest, FlushOfAnEmptyNamespaceWritesNothing) {
  Open();
  absl::StatusOr<uint64_t> first = engine_->Flush(4);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<uint64_t> second = engine_->Flush(4);
  EXPECT_GT(*second, *first);
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_FALSE(*env_.Exists(dir_.path() + "/ns-4"));
}

TEST_F(EngineTest, FailedCommitRollsBackAFlush) {
  Open();
  PutAndCommit(0, "a", "1");
  PutAndCommit(0, "b", "2");
  Put(0, "a", "staged");
  ASSERT_TRUE(engine_->Flush(0).ok());
  Put(0, "c", "3");
  env_.fail_writes = true;
  EXPECT_FALSE(engine_->Commit().ok());
  env_.fail_writes = false;
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "b"), "2");
  EXPECT_EQ(Value(0, "c"), "<NotFound>");
  EXPECT_EQ(*engine_->KeyCount(0), 2u);
  EXPECT_EQ(engine_->Stats().namespaces[0].live_bytes, 2 * EncodedRecordSize(1, 0, 1));
}

// ---- Scan and RandomKey ---------------------------------------------------------------------

class ScanTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Open();
    for (const char* key : {"a", "b:1", "b:2", "b:3", "b:4", "b:5", "c"}) Put(0, key, "v");
    ASSERT_TRUE(engine_->Commit().ok());
  }

  ScanResult Scan(const ScanOptions& options) {
    absl::StatusOr<ScanResult> r = engine_->Scan(0, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ScanResult{};
  }
};

using Keys = std::vector<std::string>;

TEST_F(ScanTest, ReturnsKeysInOrderUpToTheLimit) {
  ScanOptions options;
  ScanResult r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"a", "b:1", "b:2", "b:3", "b:4", "b:5", "c"}));
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.last_key, "c");

  options.limit = 3;
  r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"a", "b:1", "b:2"}));
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.last_key, "b:2");
  options.start_after = r.last_key;
  r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"b:3", "b:4", "b:5"}));
  EXPECT_TRUE(r.more);
  options.start_after = r.last_key;
  r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"c"}));
  EXPECT_FALSE(r.more);
}

TEST_F(ScanTest, PrefixAndStartBounds) {
  ScanOptions options;
  options.prefix = "b:";
  ScanResult r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"b:1", "b:2", "b:3", "b:4", "b:5"}));
  EXPECT_FALSE(r.more);  // "c" does not have the prefix

  options.start_after = "b:2";
  EXPECT_EQ(Scan(options).keys, (Keys{"b:3", "b:4", "b:5"}));
  options.start_inclusive = true;
  EXPECT_EQ(Scan(options).keys, (Keys{"b:2", "b:3", "b:4", "b:5"}));
  options.start_after = "a";  // before the prefix: starts at the prefix
  options.start_inclusive = false;
  EXPECT_EQ(Scan(options).keys.size(), 5u);
  options.start_after = "b:9";  // after every key with the prefix
  r = Scan(options);
  EXPECT_TRUE(r.keys.empty());
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.last_key, "");

  options = {};
  options.prefix = "b:";
  options.limit = 5;
  r = Scan(options);
  EXPECT_EQ(r.keys.size(), 5u);
  EXPECT_FALSE(r.more);  // exactly exhausted
}

TEST_F(ScanTest, FilterAndMaxExamined) {
  ScanOptions options;
  options.filter = [](std::string_view key) { return key == "b:2" || key == "b:5"; };
  options.max_examined = 3;
  ScanResult r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"b:2"}));
  EXPECT_EQ(r.last_key, "b:2");  // a, b:1, b:2 examined
  EXPECT_TRUE(r.more);
  options.start_after = r.last_key;
  r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"b:5"}));
  EXPECT_EQ(r.last_key, "b:5");
  EXPECT_TRUE(r.more);
  options.start_after = r.last_key;
  r = Scan(options);
  EXPECT_TRUE(r.keys.empty());
  EXPECT_EQ(r.last_key, "c");  // examined, filtered out
  EXPECT_FALSE(r.more);

  options = {};
  options.filter = [](std::string_view key) { return key == "c"; };
  options.limit = 1;
  r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"c"}));
  EXPECT_FALSE(r.more);
}

TEST_F(ScanTest, ExpiredKeysAreNeitherReturnedNorCounted) {
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 10;
  for (const char* key : {"b:2", "b:3", "c"}) Put(0, key, "v", ttl);
  ASSERT_TRUE(engine_->Commit().ok());
  g_now_us += 10'000;
  ScanOptions options;
  options.max_examined = 3;
  ScanResult r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"a", "b:1", "b:4"}));
  EXPECT_TRUE(r.more);
  options.start_after = r.last_key;
  r = Scan(options);
  EXPECT_EQ(r.keys, (Keys{"b:5"}));
  EXPECT_FALSE(r.more);  // only the expired "c" followed
  EXPECT_EQ(*engine_->KeyCount(0), 4u);
  EXPECT_EQ(engine_->Stats().expired_keys, 3u);
}

TEST_F(ScanTest, RandomKeyReturnsLiveKeysAndCoversThemAll) {
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 10;
  Put(0, "b:3", "v", ttl);
  ASSERT_TRUE(engine_->Commit().ok());
  g_now_us += 10'000;
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<std::string> key = engine_->RandomKey(0);
    ASSERT_TRUE(key.ok()) << key.status();
    seen.insert(*key);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b:1", "b:2", "b:4", "b:5", "c"}));
  EXPECT_TRUE(absl::IsNotFound(engine_->RandomKey(1).status()));
  ASSERT_TRUE(engine_->Flush(0).ok());
  EXPECT_TRUE(absl::IsNotFound(engine_->RandomKey(0).status()));
}

TEST_F(EngineTest, RandomKeyWhenEveryKeyExpiredIsNotFound) {
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 10;
  for (int i = 0; i < 50; ++i) Put(0, "k" + std::to_string(i), "v", ttl);
  g_now_us += 10'000;
  EXPECT_TRUE(absl::IsNotFound(engine_->RandomKey(0).status()));
  EXPECT_EQ(*engine_->KeyCount(0), 0u);
}

// ---- Rename ---------------------------------------------------------------------------------

TEST_F(EngineTest, RenameMovesValueMetadataAndExpiry) {
  Open();
  PutOptions options;
  options.metadata = "m";
  options.expire_at_ms = NowMs() + 5000;
  const PutResult put = Put(0, "from", "v", options);
  ASSERT_TRUE(engine_->Commit().ok());
  absl::StatusOr<RenameResult> r = engine_->Rename(0, "from", "to", false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->renamed);
  EXPECT_FALSE(r->condition_failed);
  EXPECT_GT(r->revision, put.revision);
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "from"), "<NotFound>");
  absl::StatusOr<Entry> to = engine_->Get(0, "to");
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(to->value, "v");
  EXPECT_EQ(to->metadata, "m");
  EXPECT_EQ(to->expire_at_ms, NowMs() + 5000);
  EXPECT_EQ(to->revision, r->revision);
  EXPECT_EQ(*engine_->KeyCount(0), 1u);
}

TEST_F(EngineTest, RenameOverwritesUnlessOnlyIfAbsent) {
  Open();
  Put(0, "a", "1");
  Put(0, "b", "2");
  absl::StatusOr<RenameResult> nx = engine_->Rename(0, "a", "b", true);
  ASSERT_TRUE(nx.ok());
  EXPECT_FALSE(nx->renamed);
  EXPECT_TRUE(nx->condition_failed);
  EXPECT_EQ(nx->revision, 0u);
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "b"), "2");
  EXPECT_TRUE(engine_->Rename(0, "a", "b", false)->renamed);
  EXPECT_EQ(Value(0, "a"), "<NotFound>");
  EXPECT_EQ(Value(0, "b"), "1");  // from staging
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "b"), "1");
}

TEST_F(EngineTest, RenameEdgeCases) {
  Open();
  EXPECT_TRUE(absl::IsNotFound(engine_->Rename(0, "missing", "x", false).status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->Rename(0, "missing", "missing", false).status()));
  PutAndCommit(0, "k", "v");
  const uint64_t size = testing::FileSize(SegmentPath(0));
  absl::StatusOr<RenameResult> same = engine_->Rename(0, "k", "k", true);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->renamed);
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(testing::FileSize(SegmentPath(0)), size);  // nothing written
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->Rename(0, "k", std::string(kMaxKeyBytes + 1, 'x'), false).status()));
}

// ---- Stats, sweep, sealing ------------------------------------------------------------------

TEST_F(EngineTest, ValueCacheServesRepeatedReadsAndNeverAStaleValue) {
  options_.memory_bytes = 1 << 20;
  Open();
  PutAndCommit(0, "hot", "v1");
  PutAndCommit(1, "hot", "other namespace");
  EXPECT_EQ(Value(0, "hot"), "v1");  // hit: cached when written (write-allocate)
  EXPECT_EQ(Value(0, "hot"), "v1");  // hit
  EXPECT_EQ(Value(1, "hot"), "other namespace");
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.cache_hits, 3u);
  EXPECT_EQ(stats.cache_misses, 0u);
  Open();  // cold: the first read goes to the log, then the value is cached
  EXPECT_EQ(Value(0, "hot"), "v1");
  EXPECT_EQ(Value(0, "hot"), "v1");
  stats = engine_->Stats();
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.cache_misses, 1u);
  EXPECT_GT(stats.cache_bytes, 0u);
  EXPECT_EQ(stats.cache_budget_bytes, uint64_t{1} << 20);
  PutAndCommit(0, "hot", "v2");  // a new revision: the cached v1 must not be served
  EXPECT_EQ(Value(0, "hot"), "v2");
  // A value larger than the whole budget is still served, from the log.
  const std::string big(2 << 20, 'b');
  PutAndCommit(0, "big", big);
  EXPECT_EQ(Value(0, "big"), big);
  EXPECT_EQ(Value(0, "big"), big);
  EXPECT_LE(engine_->Stats().cache_bytes, uint64_t{1} << 20);
}

// MultiGet (MGET's read) answers exactly as Get() of each key: present, absent, expired (and
// then expired for Get too), with metadata, staged and not yet committed, cold (read from the
// log, then cached), over more keys than the prefetch pipeline's depth, and duplicates.
TEST_F(EngineTest, MultiGetAnswersAsGetOfEachKey) {
  options_.memory_bytes = 1 << 20;
  Open();
  for (int i = 0; i < 200; ++i) {
    PutOptions options;
    const std::string metadata = "meta" + std::to_string(i);  // options.metadata is a view
    if (i % 7 == 0) options.expire_at_ms = NowMs() + 1000;
    if (i % 11 == 0) options.metadata = metadata;
    Put(0, "k" + std::to_string(i), "value-" + std::to_string(i), options);
  }
  ASSERT_TRUE(engine_->Commit().ok());
  Open();  // cold: nothing cached
  g_now_us += 2'000'000;  // every 7th key has expired
  Put(0, "staged", "not committed yet");
  std::vector<std::string> keys;
  for (int i = 0; i < 230; i += 1) keys.push_back("k" + std::to_string(i));  // 200-229 absent
  keys.push_back("staged");
  keys.push_back("k1");  // twice
  const auto read_all = [&] {
    std::vector<std::string> got(keys.size(), "<NotFound>");
    const absl::Status s = engine_->MultiGet(
        0, keys.size(), [&](size_t i) -> std::string_view { return keys[i]; },
        [&](size_t i, std::string_view value) { got[i] = std::string(value); });
    EXPECT_TRUE(s.ok()) << s;
    return got;
  };
  const std::vector<std::string> cold = read_all();
  const std::vector<std::string> warm = read_all();  // now from the value cache
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(cold[i], Value(0, keys[i])) << keys[i];
    EXPECT_EQ(warm[i], cold[i]) << keys[i];
  }
  EXPECT_EQ(cold[0], "<NotFound>");  // k0: expired
  EXPECT_EQ(cold[1], "value-1");
  EXPECT_EQ(cold[11], "value-11");  // metadata: read from the log, value only
  EXPECT_EQ(cold[229], "<NotFound>");
  EXPECT_EQ(cold[230], "not committed yet");
  EXPECT_EQ(cold[231], "value-1");
  // The expired keys were expired (tombstones staged) as a Get would: they stay absent.
  ASSERT_TRUE(engine_->Commit().ok());
  EXPECT_EQ(Value(0, "k7"), "<NotFound>");
  // Cold reads went to the log once and were cached; metadata keys are never cached.
  const EngineStats stats = engine_->Stats();
  EXPECT_GT(stats.cache_hits, 0u);
  EXPECT_GT(stats.cache_misses, 0u);
  // A namespace out of range is refused, as for Get.
  EXPECT_EQ(engine_->MultiGet(kNamespaceCount, 1, [](size_t) { return std::string_view("k"); },
                              [](size_t, std::string_view) {})
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, StatsReportPerNamespaceFigures) {
  options_.memory_bytes = 12345;
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 1000;
  Put(0, "a", "1", ttl);
  Put(0, "bb", "22");
  Put(0, "bb", "333");
  Put(3, "c", "x");
  ASSERT_TRUE(engine_->Delete(3, "c")->deleted);
  ASSERT_TRUE(engine_->Commit().ok());

  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.cache_budget_bytes, 12345u);
  EXPECT_EQ(stats.reclaim_runs, 0u);
  EXPECT_EQ(stats.corrupt_records, 0u);
  EXPECT_GT(stats.index_bytes, 0u);
  ASSERT_EQ(stats.namespaces.size(), 2u);  // 0 and 3 (empty, but holding a log)
  const NamespaceStats& ns0 = stats.namespaces[0];
  EXPECT_EQ(ns0.ns, 0u);
  EXPECT_EQ(ns0.keys, 2u);
  EXPECT_EQ(ns0.expires, 1u);
  EXPECT_EQ(ns0.live_bytes, EncodedRecordSize(1, 0, 1) + EncodedRecordSize(2, 0, 3));
  EXPECT_EQ(ns0.log_bytes, testing::FileSize(SegmentPath(0)));
  EXPECT_EQ(ns0.sealed_segments, 0u);
  const NamespaceStats& ns3 = stats.namespaces[1];
  EXPECT_EQ(ns3.ns, 3u);
  EXPECT_EQ(ns3.keys, 0u);
  EXPECT_EQ(ns3.live_bytes, 0u);
  EXPECT_EQ(ns3.log_bytes, testing::FileSize(SegmentPath(3)));

  g_now_us += 1'000'000;
  EXPECT_FALSE(*engine_->Exists(0, "a"));
  stats = engine_->Stats();
  EXPECT_EQ(stats.expired_keys, 1u);
  EXPECT_EQ(stats.namespaces[0].expires, 0u);
}

TEST_F(EngineTest, SweepDropsExpiredKeysSoKeyCountConverges) {
  Open();
  PutOptions ttl;
  ttl.expire_at_ms = NowMs() + 1000;
  constexpr int kKeys = 50'000;  // more than one call's share
  for (int i = 0; i < kKeys; ++i) {
    Put(i % 2, "key:" + std::to_string(i), "v", i % 5 == 0 ? PutOptions{} : ttl);
  }
  ASSERT_TRUE(engine_->Commit().ok());
  ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_EQ(*engine_->KeyCount(0) + *engine_->KeyCount(1), uint64_t{kKeys});  // nothing due
  g_now_us += 1'000'000;
  int calls = 0;
  while (*engine_->KeyCount(0) + *engine_->KeyCount(1) > kKeys / 5 && calls < 1000) {
    ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    ++calls;
  }
  EXPECT_EQ(*engine_->KeyCount(0) + *engine_->KeyCount(1), uint64_t{kKeys / 5});
  EXPECT_GT(calls, 1);  // bounded work per call
  EXPECT_EQ(engine_->Stats().expired_keys, uint64_t{kKeys - kKeys / 5});
  EXPECT_EQ(Value(0, "key:0"), "v");
  EXPECT_EQ(Value(1, "key:1"), "<NotFound>");
}

TEST_F(EngineTest, ActiveSegmentIsSealedPastSegmentBytes) {
  options_.segment_bytes = 1000;
  Open();
  const std::string value(300, 'v');
  for (int i = 0; i < 10; ++i) PutAndCommit(0, "k" + std::to_string(i), value);
  const EngineStats stats = engine_->Stats();
  ASSERT_EQ(stats.namespaces.size(), 1u);
  // 40 + 3 * 339 >= 1000: every third commit seals.
  EXPECT_EQ(stats.namespaces[0].sealed_segments, 3u);
  EXPECT_TRUE(*env_.Exists(SegmentPath(0, 1)));
  EXPECT_TRUE(*env_.Exists(SegmentPath(0, kSequenceStride)));
  EXPECT_TRUE(*env_.Exists(SegmentPath(0, 2 * kSequenceStride)));
  EXPECT_TRUE(*env_.Exists(SegmentPath(0, 3 * kSequenceStride)));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Value(0, "k" + std::to_string(i)), value);
  Open();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Value(0, "k" + std::to_string(i)), value);
  EXPECT_EQ(engine_->Stats().namespaces[0].log_bytes, stats.namespaces[0].log_bytes);
}

// ---- Syncing --------------------------------------------------------------------------------
// A failing fdatasync makes each sync attempt visible.

TEST_F(EngineTest, EverySecSyncsOnlyOnceASecondHasPassed) {
  options_.fsync = FsyncPolicy::kEverySec;
  Open();
  PutAndCommit(0, "k", "v");  // no sync in Commit under everysec
  env_.fail_syncs = true;
  g_now_us += 500'000;
  EXPECT_TRUE(engine_->RunBackgroundWork().ok());  // too early: no sync attempted
  g_now_us += 500'000;
  EXPECT_FALSE(engine_->RunBackgroundWork().ok());
}

TEST_F(EngineTest, NeverPolicyDoesNotSyncPeriodically) {
  options_.fsync = FsyncPolicy::kNever;
  Open();
  PutAndCommit(0, "k", "v");
  env_.fail_syncs = true;
  g_now_us += 10'000'000;
  EXPECT_TRUE(engine_->RunBackgroundWork().ok());
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
  EXPECT_TRUE(engine_->Delete(1, "x")->deleted);
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
