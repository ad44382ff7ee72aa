// Random 64-bit seeds for hash tables and ids that must not be predictable from outside the
// process: the keydir's and the value cache's hash seeds (so a client cannot pick keys that
// all collide, "hash flooding"), a shard's boot id, the reclaim sampler.
//
// Thread-safe. Draws from the kernel's CSPRNG (getrandom(2) through std::random_device); a
// failure there is fatal, as a process without entropy cannot seed its tables safely.
#ifndef BEYONDKV_COMMON_RANDOM_SEED_H_
#define BEYONDKV_COMMON_RANDOM_SEED_H_

#include <cstdint>

namespace beyondkv {

// A fresh random 64-bit value on every call.
uint64_t NewRandomSeed();

// One random 64-bit value per process, drawn on the first call (for hashes whose values are
// kept across objects, such as the value cache's key hash).
uint64_t ProcessRandomSeed();

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_RANDOM_SEED_H_
