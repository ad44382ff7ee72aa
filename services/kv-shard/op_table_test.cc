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
  Op put;
  put.set_type(Op::PUT);
  AddReadAheadKeys(put, &keys);  // a plain PUT reads nothing
  EXPECT_EQ(keys.size(), 3u);
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
