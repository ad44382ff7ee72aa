// Issues the revisions of one shard's mutations (ARCHITECTURE.md §6): unique across shards,
// strictly increasing within a shard, ordered by time across shards, causal across shards
// (a revision a client has seen is below every revision issued after the shard observes it),
// and exact in JavaScript (every revision is at most 2^53 - 1, Number.MAX_SAFE_INTEGER).
//
//   tick     = max(last_tick + 1, now_ms - kRevisionEpochMs)      (a hybrid logical clock)
//   revision = tick << kRevisionShardBits | shard_id
//
// A tick is a millisecond since 2026-01-01T00:00:00Z unless more than one mutation happens
// in a millisecond (or the shard observed a higher revision), then the clock runs ahead of
// wall time by one tick per mutation and falls back in step once the load eases. The space
// holds 2^47 ticks: 4,400 years of idle time, or 4.5 years of 1,000,000 mutations a second
// sustained across all shards (causality makes the shards share one tick sequence). When it
// is spent, `exhausted()` turns true and the engine refuses mutations (ResourceExhausted);
// reads go on.
//
// Thread contract: owned by the shard's engine thread.
#ifndef BEYONDKV_ENGINE_REVISION_CLOCK_H_
#define BEYONDKV_ENGINE_REVISION_CLOCK_H_

#include <cstdint>

namespace beyondkv::engine {

// The low bits of a revision name its shard, so at most 64 shards.
inline constexpr int kRevisionShardBits = 6;
inline constexpr uint32_t kMaxShards = uint32_t{1} << kRevisionShardBits;
// 2^53 - 1: the largest integer a JavaScript number (IEEE double) holds exactly.
inline constexpr uint64_t kMaxRevision = (uint64_t{1} << 53) - 1;
inline constexpr uint64_t kMaxRevisionTick = kMaxRevision >> kRevisionShardBits;
// Unix ms of 2026-01-01T00:00:00Z, tick 0. Revisions of earlier wall times all map to 0.
inline constexpr int64_t kRevisionEpochMs = 1'767'225'600'000;

class RevisionClock {
 public:
  // Requires shard_id < kMaxShards.
  explicit RevisionClock(uint32_t shard_id);

  // A revision greater than every one issued or observed so far. Requires !exhausted().
  uint64_t Next(int64_t now_ms);

  // Accounts for a revision found on disk (recovery) or seen by a client of any shard
  // (causality): later ones exceed it. Revisions above kMaxRevision are ignored (a caller
  // validates them first).
  void Observe(uint64_t revision);

  // A watermark: every revision issued after this call is greater than the result. Moves the
  // clock to `now_ms` - 1 if it is behind, so idle shards' watermarks advance with time.
  uint64_t Watermark(int64_t now_ms);

  // The greatest revision issued or observed; 0 if none.
  uint64_t last() const { return last_revision_; }

  // True once fewer than kReserveTicks revisions fit below 2^53 (the reserve covers the
  // several revisions one operation may take, such as RENAME's put and tombstone).
  static constexpr uint64_t kReserveTicks = 16;
  bool exhausted() const { return last_tick_ + kReserveTicks > kMaxRevisionTick; }

  // The tick of a wall time (ms since the Unix epoch), clamped to [0, kMaxRevisionTick].
  static uint64_t TickOf(int64_t now_ms);

 private:
  const uint32_t shard_id_;
  uint64_t last_tick_ = 0;
  uint64_t last_revision_ = 0;
};

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_REVISION_CLOCK_H_
