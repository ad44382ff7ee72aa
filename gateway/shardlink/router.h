// Routing of keys to shards (architecture §1): shard = jump_hash(xxh3(hash tag or key), S).
//
// Stable across processes, restarts and releases: the same key always maps to the same shard
// for a given shard count S, which the data directory records. Changing these functions
// misroutes existing data: treat them as part of the storage format.
#ifndef BEYONDKV_GATEWAY_SHARDLINK_ROUTER_H_
#define BEYONDKV_GATEWAY_SHARDLINK_ROUTER_H_

#include <cstdint>
#include <string_view>

namespace beyondkv::shardlink {

// The part of `key` that is hashed: as in Redis Cluster, the bytes between the first '{' and
// the next '}' if that span is non-empty, so "{user1}.name" and "{user1}.mail" share a shard;
// otherwise the whole key.
std::string_view HashTag(std::string_view key);

// Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
// Algorithm", 2014): a bucket in [0, buckets) for `key`; buckets must be >= 1.
uint32_t JumpConsistentHash(uint64_t key, uint32_t buckets);

// The shard in [0, shard_count) that owns `key`.
uint32_t ShardForKey(std::string_view key, uint32_t shard_count);

}  // namespace beyondkv::shardlink

#endif  // BEYONDKV_GATEWAY_SHARDLINK_ROUTER_H_
