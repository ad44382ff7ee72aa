// Gives memory the allocator holds free back to the operating system.
//
// glibc keeps freed memory in its arenas (one per thread that allocated it) and returns it only
// from the top of a heap, and its mmap threshold rises after a large block is freed, so later
// large blocks come from the arenas too. After a burst (10,000 connections closing, a command
// with a million arguments, a 40 MiB reply), a gateway's RSS would stay at its peak for good.
// MaybeReleaseFreeMemory(), called every few seconds from a thread that is otherwise waiting,
// calls malloc_trim(0) when the arenas hold more than `threshold` free bytes: their free pages
// are returned (madvise), whatever their position.
#ifndef BEYONDKV_COMMON_MEMORY_RELEASE_H_
#define BEYONDKV_COMMON_MEMORY_RELEASE_H_

#include <cstddef>

namespace beyondkv {

// Free bytes held by the allocator (all arenas).
size_t AllocatorFreeBytes();

// malloc_trim(0) if more than `threshold` bytes are free in the allocator; returns whether it
// trimmed.
bool MaybeReleaseFreeMemory(size_t threshold);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_MEMORY_RELEASE_H_
