#include "gateway/shardlink/router.h"

// XXH3 compiled into this file (static inline) rather than called in libxxhash: keys are
// short, and for them the call and the library's dispatch cost more than the hash itself.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace beyondkv::shardlink {

std::string_view HashTag(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

uint32_t JumpConsistentHash(uint64_t key, uint32_t buckets) {
  if (buckets == 2) {
    // The loop below, worked out for 2 buckets (no division): its first step leaves bucket 0
    // when 2^31 / ((k >> 33) + 1) >= 2, k = key * C + 1, i.e. when bit 63 of k is clear (the
    // quotient is never within rounding of 2 otherwise: 2^31 / (2^30 + 1) < 2 - 2^-30), and
    // its second step always leaves bucket 1 (2 * 2^31 / y >= 2 for every y <= 2^31).
    // RouterTest.TwoBucketsAsTheLoopDoes checks it against the loop.
    return static_cast<uint32_t>((key * 2862933555777941757ULL + 1) >> 63);
  }
  int64_t b = -1;
  int64_t j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(1LL << 31) /
                              static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

uint32_t ShardForKey(std::string_view key, uint32_t shard_count) {
  if (shard_count <= 1) return 0;
  std::string_view tag = HashTag(key);
  return JumpConsistentHash(XXH3_64bits(tag.data(), tag.size()), shard_count);
}

}  // namespace beyondkv::shardlink
