#include "common/random_seed.h"

#include <random>

namespace beyondkv {

uint64_t NewRandomSeed() {
  std::random_device device;
  static_assert(sizeof(std::random_device::result_type) == 4);
  return (static_cast<uint64_t>(device()) << 32) | device();
}

uint64_t ProcessRandomSeed() {
  static const uint64_t seed = NewRandomSeed();
  return seed;
}

}  // namespace beyondkv
