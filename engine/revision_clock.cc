#include "engine/revision_clock.h"

#include <glog/logging.h>

#include <algorithm>

namespace beyondkv::engine {

RevisionClock::RevisionClock(uint32_t shard_id) : shard_id_(shard_id) {
  CHECK_LT(shard_id, kMaxShards);
}

uint64_t RevisionClock::Next(int64_t now_us) {
  last_hi_ = std::max(last_hi_ + 1, static_cast<uint64_t>(std::max<int64_t>(now_us, 0)));
  last_revision_ = (last_hi_ << kRevisionShardBits) | shard_id_;
  return last_revision_;
}

uint64_t RevisionClock::Watermark(int64_t now_us) {
  last_hi_ = std::max(last_hi_, static_cast<uint64_t>(std::max<int64_t>(now_us - 1, 0)));
  return (last_hi_ << kRevisionShardBits) | ((uint64_t{1} << kRevisionShardBits) - 1);
}

void RevisionClock::Observe(uint64_t revision) {
  last_hi_ = std::max(last_hi_, revision >> kRevisionShardBits);
  last_revision_ = std::max(last_revision_, revision);
}

}  // namespace beyondkv::engine
