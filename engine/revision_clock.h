// Issues the revisions of one shard's mutations (architecture §6): unique across shards,
// strictly increasing within a shard, and ordered by time across shards.
//
//   hi = max(last_hi + 1, now_us);  revision = hi << 8 | shard_id
//
// The low 8 bits name the shard (so shard_id < 256); the high 56 bits are a hybrid clock in
// µs that never goes backwards, even if the wall clock does or more than one mutation
// happens per µs.
//
// Thread contract: owned by the shard's engine thread.
#ifndef BEYONDKV_ENGINE_REVISION_CLOCK_H_
#define BEYONDKV_ENGINE_REVISION_CLOCK_H_

#include <cstdint>

namespace beyondkv::engine {

inline constexpr uint32_t kMaxShards = 256;
inline constexpr int kRevisionShardBits = 8;

class RevisionClock {
 public:
  // Requires shard_id < kMaxShards.
  explicit RevisionClock(uint32_t shard_id);

  // A revision greater than every one issued or observed so far.
  uint64_t Next(int64_t now_us);

  // Accounts for a revision found on disk, so later ones exceed it (recovery).
  void Observe(uint64_t revision);

  // A watermark: every revision issued after this call is greater than the result. Moves the
  // clock to `now_us` - 1 if it is behind, so idle shards' watermarks advance with time.
  uint64_t Watermark(int64_t now_us);

  // The greatest revision issued or observed; 0 if none.
  uint64_t last() const { return last_revision_; }

 private:
  const uint32_t shard_id_;
  uint64_t last_hi_ = 0;
  uint64_t last_revision_ = 0;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_REVISION_CLOCK_H_
