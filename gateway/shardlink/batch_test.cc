#include "gateway/shardlink/batch.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace beyondkv::shardlink {
namespace {

v1::OpResult ResultWithValues(int n, size_t value_bytes) {
  v1::OpResult r;
  for (int i = 0; i < n; ++i) {
    r.add_values(std::string(value_bytes, static_cast<char>('a' + i % 26)));
    r.add_found(true);
  }
  return r;
}

TEST(TakenResultTest, TakesTheContentsAndLeavesTheSourceCleared) {
  v1::BatchResponse response;
  *response.add_results() = ResultWithValues(3, 40);
  TakenResult taken;
  EXPECT_FALSE(taken.has_value());
  taken.Take(*response.mutable_results(0));
  ASSERT_TRUE(taken.has_value());
  ASSERT_EQ(taken->values_size(), 3);
  EXPECT_EQ(taken->values(2), std::string(40, 'c'));
  EXPECT_EQ(response.results(0).values_size(), 0);
  taken.Reset();
  EXPECT_FALSE(taken.has_value());
}

TEST(TakenResultTest, ARecycledResultIsReusedCleared) {
  v1::OpResult first = ResultWithValues(4, 8);
  TakenResult a;
  a.Take(first);
  const v1::OpResult* storage = &*a;
  a.Reset();  // back to this thread's pool

  v1::OpResult second = ResultWithValues(1, 8);
  TakenResult b;
  b.Take(second);
  // The pooled object came back and holds `second`'s data; `second` has the emptied one.
  EXPECT_EQ(&*b, storage);
  EXPECT_EQ(b->values_size(), 1);
  EXPECT_EQ(second.values_size(), 0);
}

TEST(TakenResultTest, OversizedResultsAreFreedNotPooled) {
  v1::OpResult big = ResultWithValues(2, TakenResult::kMaxPooledBytes);
  TakenResult a;
  a.Take(big);
  const size_t pooled = TakenResult::PoolSize();
  a.Reset();
  EXPECT_EQ(TakenResult::PoolSize(), pooled);
  v1::OpResult many = ResultWithValues(TakenResult::kMaxPooledValues + 1, 1);
  a.Take(many);
  a.Reset();
  EXPECT_EQ(TakenResult::PoolSize(), pooled);
  v1::OpResult small = ResultWithValues(2, 100);
  a.Take(small);
  a.Reset();
  EXPECT_EQ(TakenResult::PoolSize(), pooled + 1);
}

TEST(TakenResultTest, MovesCarryTheResult) {
  v1::OpResult r = ResultWithValues(1, 5);
  TakenResult a;
  a.Take(r);
  TakenResult b = std::move(a);
  EXPECT_FALSE(a.has_value());  // NOLINT(bugprone-use-after-move): moved-from is empty
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->values(0), "aaaaa");
  TakenResult c;
  c = std::move(b);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->values(0), "aaaaa");
}

// Delivered batches' callback vectors, given back, store the next batches' callbacks: no
// allocation per batch for them. The batcher keeps at most kMaxSpareDone per shard.
TEST(BatcherTest, DoneStorageIsReusedForTheNextBatches) {
  Batcher batcher(2);
  for (int i = 0; i < 5; ++i) batcher.Add(1, [](v1::OpResult&) {});
  Batch first = batcher.Take(1);
  ASSERT_EQ(first.done.size(), 5u);
  const OpDone* storage = first.done.data();
  const size_t capacity = first.done.capacity();
  EXPECT_TRUE(batcher.GiveDoneStorage(1, &first.done));
  EXPECT_EQ(first.done.capacity(), 0u);  // taken
  EXPECT_FALSE(batcher.GiveDoneStorage(1, &first.done));  // nothing to take
  int ran = 0;
  batcher.Add(1, [&ran](v1::OpResult&) { ++ran; });
  Batch second = batcher.Take(1);
  ASSERT_EQ(second.done.size(), 1u);
  EXPECT_EQ(second.done.data(), storage);
  EXPECT_EQ(second.done.capacity(), capacity);
  v1::OpResult result;
  second.done[0](result);
  EXPECT_EQ(ran, 1);
  for (size_t i = 0; i < Batcher::kMaxSpareDone; ++i) {
    std::vector<OpDone> spare;
    spare.reserve(4);
    EXPECT_TRUE(batcher.GiveDoneStorage(1, &spare)) << i;
  }
  std::vector<OpDone> one_too_many;
  one_too_many.reserve(4);
  EXPECT_FALSE(batcher.GiveDoneStorage(1, &one_too_many));
  EXPECT_EQ(one_too_many.capacity(), 4u);  // still the caller's
  // Shard 0 never got any: its batches allocate as before.
  batcher.Add(0, [](v1::OpResult&) {});
  EXPECT_EQ(batcher.Take(0).done.size(), 1u);
}

// Idle-shard nudges (ARCHITECTURE.md §6): a shard owed the observed revision gets a PING
// carrying it once it has been sent nothing for kNudgeIntervalNs; one that gets batches is
// left alone (the batches carry the revision).
TEST(BatcherTest, OnlyAShardSentNothingForAnIntervalIsNudged) {
  constexpr int64_t kMs = 1'000'000;
  Batcher batcher(2);
  ObserveRevision(ObservedRevision() + 10);
  const uint64_t observed = ObservedRevision();
  int64_t now = 1'000 * kMs;
  // Both owed, both idle for long: both nudged, with the revision.
  ASSERT_TRUE(batcher.WantsNudge());
  batcher.NudgeIdleShards(now);
  for (uint32_t shard = 0; shard < 2; ++shard) {
    ASSERT_TRUE(batcher.HasBatch(shard)) << shard;
    Batch ping = batcher.Take(shard);
    ASSERT_EQ(ping.request->ops_size(), 1);
    EXPECT_EQ(ping.request->ops(0).type(), v1::Op::PING);
    EXPECT_EQ(ping.request->observed_revision(), observed);
  }
  EXPECT_FALSE(batcher.WantsNudge());
  // Shard 0 is sent a batch every 0.3 ms, and its answers move the revision on. Between its
  // batches it is owed (its last batch carried the revision before its own answer), yet it is
  // never nudged: it is not idle. Shard 1, sent nothing but PINGs, is nudged 1 ms after the
  // loop last saw a PING taken for it (steps 5 and 10), never twice within 1 ms.
  std::vector<int> nudge_steps;
  for (int step = 1; step <= 10; ++step) {
    batcher.Add(0, [](v1::OpResult&) {})->set_type(v1::Op::GET);
    Batch to_0 = batcher.Take(0);
    ObserveRevision(ObservedRevision() + 1);  // shard 0's answer
    now += 3 * kMs / 10;
    ASSERT_TRUE(batcher.WantsNudge()) << step;
    batcher.NudgeIdleShards(now);
    EXPECT_FALSE(batcher.HasBatch(0)) << "shard 0 nudged at step " << step;
    if (batcher.HasBatch(1)) {
      Batch ping = batcher.Take(1);
      EXPECT_EQ(ping.request->ops(0).type(), v1::Op::PING);
      EXPECT_EQ(ping.request->observed_revision(), ObservedRevision());
      nudge_steps.push_back(step);
    }
  }
  EXPECT_EQ(nudge_steps, (std::vector<int>{5, 10}));
}

}  // namespace
}  // namespace beyondkv::shardlink
