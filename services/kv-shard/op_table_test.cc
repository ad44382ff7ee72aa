#include "services/kv-shard/op_table.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <string>

#include "engine/engine.h"

namespace beyondkv::shard {
namespace {

using v1::Op;
using v1::OpResult;

TEST(OpTableTest, EveryOpTypeHasARowAndTheMutationsAreExactlyTheWrites) {
  const google::protobuf::EnumDescriptor* types = Op::Type_descriptor();
  const std::set<Op::Type> mutating = {Op::PUT,    Op::DELETE, Op::INCR,   Op::INCR_FLOAT,
                                       Op::APPEND, Op::SETRANGE, Op::EXPIRE, Op::FLUSH,
                                       Op::RENAME, Op::MPUT,   Op::MDELETE, Op::BITS};
  for (int i = 0; i < types->value_count(); ++i) {
    const auto type = static_cast<Op::Type>(types->value(i)->number());
    if (type == Op::TYPE_UNSPECIFIED) continue;
    const OpRow* row = FindOp(type);
    ASSERT_NE(row, nullptr) << types->value(i)->name() << " has no row";
    EXPECT_EQ(row->name, types->value(i)->name());
    EXPECT_EQ(row->mutates, mutating.count(type) > 0) << row->name;
    EXPECT_EQ(IsMutation(type), row->mutates);
    EXPECT_NE(row->apply, nullptr);
  }
  EXPECT_EQ(FindOp(Op::TYPE_UNSPECIFIED), nullptr);
  EXPECT_EQ(FindOp(static_cast<Op::Type>(999)), nullptr);
}

TEST(OpTableTest, ReadAheadListsWhatTheOpReads) {
  std::vector<engine::ReadAheadKey> keys;
  Op get;
  get.set_type(Op::GET);
  get.set_key("k");
  get.set_no_value(true);
  AddReadAheadKeys(get, &keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_FALSE(keys[0].value);
  Op mget;
  mget.set_type(Op::MGET);
  mget.add_keys("a");
  mget.add_keys("b");
  AddReadAheadKeys(mget, &keys);
  EXPECT_EQ(keys.size(), 3u);
  for (const engine::ReadAheadKey& k : keys) EXPECT_FALSE(k.write_only);
  Op put;
  put.set_type(Op::PUT);
  put.set_key("p");
  AddReadAheadKeys(put, &keys);  // a plain PUT reads nothing: its lines are only prefetched
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_TRUE(keys[3].write_only);
  EXPECT_FALSE(keys[3].value);
  Op mput;
  mput.set_type(Op::MPUT);
  mput.add_keys("x");
  mput.add_keys("y");
  AddReadAheadKeys(mput, &keys);
  ASSERT_EQ(keys.size(), 6u);
  EXPECT_TRUE(keys[4].write_only && keys[5].write_only);
  Op returning;
  returning.set_type(Op::PUT);
  returning.set_key("r");
  returning.set_return_old(true);  // SET ... GET reads the old value
  AddReadAheadKeys(returning, &keys);
  ASSERT_EQ(keys.size(), 7u);
  EXPECT_TRUE(keys[6].value);
  EXPECT_FALSE(keys[6].write_only);
}

class OpTableEngineTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/optable-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    absl::StatusOr<std::unique_ptr<engine::Engine>> opened =
        engine::Engine::Open(engine::Options{}, dir_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    engine_ = *std::move(opened);
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  OpResult Apply(const Op& op) {
    OpContext ctx{engine_.get(), 7};
    OpResult result;
    ApplyOp(ctx, op, &result);
    EXPECT_TRUE(engine_->Commit().ok());
    return result;
  }
  static Op Multi(Op::Type type, std::initializer_list<const char*> keys) {
    Op op;
    op.set_type(type);
    for (const char* k : keys) op.add_keys(k);
    return op;
  }

  std::string dir_;
  std::unique_ptr<engine::Engine> engine_;
};

// MULTI/EXEC with WATCH: a failed check skips the rest of its transaction only; ops of other
// transactions and plain ops run. The batch's observed revision bounds new revisions.
TEST_F(OpTableEngineTest, BatchSkipsATransactionWhoseCheckFailsAndObservesRevisions) {
  Op put;
  put.set_type(Op::PUT);
  put.set_key("w");
  put.set_value("v");
  const uint64_t rev = Apply(put).revision();
  ASSERT_GT(rev, 0u);
  v1::BatchRequest batch;
  batch.set_observed_revision(rev + 1'000'000);  // a revision a client saw on another shard
  auto add = [&](Op::Type type, const char* key, uint64_t txn, uint64_t if_revision = 0) {
    Op* op = batch.add_ops();
    op->set_type(type);
    op->set_key(key);
    op->set_value("new");
    op->set_txn(txn);
    op->set_if_revision(if_revision);
  };
  add(Op::CHECK_REVISION, "w", 5, rev + 1);  // stale: txn 5 aborts
  add(Op::PUT, "a", 5);
  add(Op::CHECK_REVISION, "w", 6, rev);      // current: txn 6 runs
  add(Op::PUT, "b", 6);
  add(Op::PUT, "c", 5);                      // still txn 5: skipped
  add(Op::PUT, "d", 0);                      // not in a transaction
  OpContext ctx{engine_.get(), 0};
  v1::BatchResponse response;
  ApplyBatch(ctx, batch, &response);
  ASSERT_TRUE(engine_->Commit().ok());
  ASSERT_EQ(response.results_size(), 6);
  EXPECT_EQ(response.results(0).code(), OpResult::CONDITION_FAILED);
  EXPECT_EQ(response.results(1).reason(), OpResult::TXN_ABORTED);
  EXPECT_EQ(response.results(2).code(), OpResult::OK);
  EXPECT_EQ(response.results(3).code(), OpResult::OK);
  EXPECT_EQ(response.results(4).reason(), OpResult::TXN_ABORTED);
  EXPECT_EQ(response.results(5).code(), OpResult::OK);
  EXPECT_GT(response.results(3).revision(), rev + 1'000'000);  // causality
  EXPECT_FALSE(engine_->Exists(0, "a").value());
  EXPECT_TRUE(engine_->Exists(0, "b").value());
  EXPECT_FALSE(engine_->Exists(0, "c").value());
  EXPECT_TRUE(engine_->Exists(0, "d").value());
  EXPECT_EQ(ctx.ops_executed, 4u);
}

TEST_F(OpTableEngineTest, BitsOpParsesAgainAndKeepsTheExpiry) {
  Op put;
  put.set_type(Op::PUT);
  put.set_key("b");
  put.set_value(std::string(1, '\0'));
  put.set_expire_at_ms(4102444800000);
  Apply(put);
  Op bits;
  bits.set_type(Op::BITS);
  bits.set_key("b");
  bits.set_command("setbit");
  bits.add_args("7");
  bits.add_args("1");
  OpResult r = Apply(bits);
  EXPECT_EQ(r.code(), OpResult::OK);
  EXPECT_EQ(r.int_value(), 0);
  absl::StatusOr<engine::Entry> got = engine_->Get(0, "b");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, std::string(1, '\x01'));
  EXPECT_EQ(got->expire_at_ms, 4102444800000);
  bits.set_args(0, "-1");  // a bad offset from any sender: Redis's error, no assertion
  r = Apply(bits);
  EXPECT_EQ(r.code(), OpResult::INVALID_ARGUMENT);
  EXPECT_EQ(r.message(), "bit offset is not an integer or out of range");  // gateway adds ERR
  bits.set_command("bitfield");
  bits.clear_args();
  for (const char* a : {"INCRBY", "u8", "0", "300", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "255"}) {
    bits.add_args(a);
  }
  r = Apply(bits);
  ASSERT_EQ(r.values_size(), 2);
  EXPECT_EQ(r.values(0), "45");  // 1 + 300 wraps to 45
  EXPECT_FALSE(r.found(1));      // 45 + 255 overflows: nil under FAIL
}

TEST_F(OpTableEngineTest, MultiKeyOpsCountLikeRedis) {
  Op mput = Multi(Op::MPUT, {"a", "b", "a"});
  mput.add_values("1");
  mput.add_values("2");
  mput.add_values("3");  // a repeated key takes its last value
  EXPECT_EQ(Apply(mput).code(), OpResult::OK);
  OpResult got = Apply(Multi(Op::MGET, {"a", "x", "b"}));
  ASSERT_EQ(got.values_size(), 3);
  EXPECT_EQ(got.values(0), "3");
  EXPECT_FALSE(got.found(1));
  EXPECT_EQ(got.values(2), "2");
  EXPECT_EQ(Apply(Multi(Op::MEXISTS, {"a", "a", "x"})).count(), 2);  // EXISTS counts twice
  EXPECT_EQ(Apply(Multi(Op::MDELETE, {"a", "a", "x"})).count(), 1);  // DEL counts once
  Op uneven = Multi(Op::MPUT, {"a", "b"});
  uneven.add_values("1");
  EXPECT_EQ(Apply(uneven).code(), OpResult::INVALID_ARGUMENT);
}

TEST_F(OpTableEngineTest, ReadModifyWriteReportsReasonsAndWritesNothingOnError) {
  Op put;
  put.set_type(Op::PUT);
  put.set_key("s");
  put.set_value("abc");
  Apply(put);
  Op incr;
  incr.set_type(Op::INCR);
  incr.set_key("s");
  incr.set_delta(1);
  OpResult r = Apply(incr);
  EXPECT_EQ(r.code(), OpResult::INVALID_ARGUMENT);
  EXPECT_EQ(r.reason(), OpResult::NOT_INTEGER);
  Op setrange;
  setrange.set_type(Op::SETRANGE);
  setrange.set_key("s");
  setrange.set_offset(INT64_MAX);
  setrange.set_value("xx");
  r = Apply(setrange);
  EXPECT_EQ(r.reason(), OpResult::STRING_TOO_LONG);
  Op get;
  get.set_type(Op::GET);
  get.set_key("s");
  EXPECT_EQ(Apply(get).value(), "abc");
  Op stats;
  stats.set_type(Op::STATS);
  EXPECT_EQ(Apply(stats).stats().commands(), 7u);
  Op unknown;
  unknown.set_type(static_cast<Op::Type>(999));
  r = Apply(unknown);
  EXPECT_EQ(r.code(), OpResult::INVALID_ARGUMENT);
  EXPECT_EQ(r.message(), "unknown op type 999");
}

}  // namespace
}  // namespace beyondkv::shard
