#include "common/process.h"

#include <sched.h>

#include <thread>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

TEST(ProcessTest, SchedPolicyCoversTheThreadAndTheThreadsItStarts) {
  // In a thread of its own, so the test runner's thread keeps its policy.
  int own = -1, started = -1, before = -1, back = -1;
  std::thread([&] {
    before = sched_getscheduler(0);
    ASSERT_TRUE(SetSchedPolicy(SchedPolicy::kBatch).ok());
    own = sched_getscheduler(0);
    std::thread([&] { started = sched_getscheduler(0); }).join();
    ASSERT_TRUE(SetSchedPolicy(SchedPolicy::kNormal).ok());
    back = sched_getscheduler(0);
  }).join();
  EXPECT_EQ(before, SCHED_OTHER);
  EXPECT_EQ(own, SCHED_BATCH);
  EXPECT_EQ(started, SCHED_BATCH);
  EXPECT_EQ(back, SCHED_OTHER);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

}  // namespace
}  // namespace beyondkv
