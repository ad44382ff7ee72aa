// Lookups by a precomputed hash in an absl::flat_hash_set of pointers, and the prefetch stages
// that let a batch of lookups overlap their cache misses (LogEngine::RunPrefetchPipeline).
//
// The sets hold pointers to objects that carry their key (the keydir's nodes, the value
// cache's entries). A HashProbe is the transparent lookup key: a key with its hash computed
// once by the caller. With ProbeMatch::kControlByte the set's equality accepts any element, so
// find() stops at the first slot whose control byte (7 bits of the hash) matches without
// reading the slot or the object: prefetching only, where a wrong guess (about 1 in 128 per
// slot probed) wastes a prefetch and never gives a wrong answer.
//
// Thread contract: as the set's (no locking).
#ifndef BEYONDKV_ENGINE_HASH_PROBE_H_
#define BEYONDKV_ENGINE_HASH_PROBE_H_

#include <cstdint>
#include <string_view>

#include "absl/base/internal/prefetch.h"

namespace beyondkv::engine {

enum class ProbeMatch { kKey, kControlByte };

struct HashProbe {
  std::string_view key;
  uint64_t hash = 0;
  ProbeMatch match = ProbeMatch::kKey;
};

// Prefetch stages for `set` (an absl::flat_hash_set<T*, ...> whose hasher and equality take
// a HashProbe), each to be called once the previous one's memory has arrived:
//   PrefetchProbe: the control bytes (and first slots) of `hash`'s probe;
//   PrefetchSlot:  the slot those control bytes point to (reads control bytes only);
//   FirstCandidate: the element in that slot (reads the slot), for the caller to prefetch.
template <typename Set>
void PrefetchProbe(const Set& set, uint64_t hash) {
  set.prefetch(HashProbe{{}, hash, ProbeMatch::kControlByte});
}

template <typename Set>
void PrefetchSlot(const Set& set, uint64_t hash) {
  auto it = set.find(HashProbe{{}, hash, ProbeMatch::kControlByte});
  if (it != set.end()) absl::base_internal::PrefetchT0(&*it);  // the address, not a read
}

template <typename Set>
auto FirstCandidate(const Set& set, uint64_t hash) -> typename Set::value_type {
  auto it = set.find(HashProbe{{}, hash, ProbeMatch::kControlByte});
  return it == set.end() ? nullptr : *it;
}

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_HASH_PROBE_H_
