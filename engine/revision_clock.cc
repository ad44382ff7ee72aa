#include "engine/revision_clock.h"

#include <glog/logging.h>

#include <algorithm>

namespace beyondkv::engine {

RevisionClock::RevisionClock(uint32_t shard_id) : shard_id_(shard_id) {
  CHECK_LT(shard_id, kMaxShards);
}

uint64_t RevisionClock::TickOf(int64_t now_ms) {
  if (now_ms <= kRevisionEpochMs) return 0;
  return std::min(static_cast<uint64_t>(now_ms - kRevisionEpochMs), kMaxRevisionTick);
}

uint64_t RevisionClock::Next(int64_t now_ms) {
  last_tick_ = std::min(std::max(last_tick_ + 1, TickOf(now_ms)), kMaxRevisionTick);
  last_revision_ = (last_tick_ << kRevisionShardBits) | shard_id_;
  return last_revision_;
}

uint64_t RevisionClock::Watermark(int64_t now_ms) {
  last_tick_ = std::max(last_tick_, TickOf(now_ms - 1));
  return (last_tick_ << kRevisionShardBits) | (kMaxShards - 1);
}

void RevisionClock::Observe(uint64_t revision) {
  if (revision > kMaxRevision) return;
  last_tick_ = std::max(last_tick_, revision >> kRevisionShardBits);
  last_revision_ = std::max(last_revision_, revision);
}

}  // namespace beyondkv::engine
