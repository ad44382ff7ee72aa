#include "common/process.h"

#include <sched.h>

#include <thread>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

TEST(ProcessTest, BatchSchedulingCoversTheThreadAndTheThreadsItStarts) {
  // In a thread of its own, so the test runner's thread keeps its policy.
  int own = -1, started = -1, before = -1;
  std::thread([&] {
    before = sched_getscheduler(0);
    ASSERT_TRUE(UseBatchScheduling().ok());
    own = sched_getscheduler(0);
    std::thread([&] { started = sched_getscheduler(0); }).join();
  }).join();
  EXPECT_EQ(before, SCHED_OTHER);
  EXPECT_EQ(own, SCHED_BATCH);
  EXPECT_EQ(started, SCHED_BATCH);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

}  // namespace
}  // namespace beyondkv
