#include "common/memory_release.h"

#include <malloc.h>

namespace beyondkv {

size_t AllocatorFreeBytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.fordblks;
}

bool MaybeReleaseFreeMemory(size_t threshold) {
  if (AllocatorFreeBytes() <= threshold) return false;
  malloc_trim(0);
  return true;
}

}  // namespace beyondkv
