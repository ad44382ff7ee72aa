// cache_bench: throughput of S3FifoCache and LruCache (Google Benchmark).
//   bazel run -c opt //engine/cache:cache_bench
// Keys are TraceKey ids (16 bytes), values 100 bytes, the trace Zipf(0.99).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/cache/lru_cache.h"
#include "engine/cache/s3fifo_cache.h"
#include "engine/cache/zipf_trace.h"

namespace beyondkv::engine {
namespace {

constexpr uint32_t kKeys = 1000000;
constexpr size_t kValueBytes = 100;
const uint64_t kCharge = cache_internal::EntryCharge(kTraceKeyBytes, kValueBytes);

const std::vector<std::string>& Keys() {
  static const auto* keys = [] {
    auto* v = new std::vector<std::string>();
    v->reserve(kKeys);
    for (uint32_t id = 0; id < kKeys; ++id) v->push_back(TraceKey(id));
    return v;
  }();
  return *keys;
}

// 4M requests of Zipf(0.99) over `n` keys.
const std::vector<uint32_t>& Trace(uint32_t n) {
  static const auto* small = new std::vector<uint32_t>(ZipfTrace(100000, 0.99, 1 << 22, 1));
  static const auto* large = new std::vector<uint32_t>(ZipfTrace(kKeys, 0.99, 1 << 22, 1));
  return n == 100000 ? *small : *large;
}

// Get of cached keys: 100K keys, all cached, requested Zipf(0.99).
template <typename Cache>
void BM_GetHit(benchmark::State& state) {
  const auto& keys = Keys();
  const auto& trace = Trace(100000);
  Cache cache(100000 * kCharge * 11 / 10);
  const std::string value(kValueBytes, 'v');
  for (uint32_t id = 0; id < 100000; ++id) cache.Insert(keys[id], 1, value);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.Get(keys[trace[i]], 1));
    if (++i == trace.size()) i = 0;
  }
  if (cache.misses() != 0) state.SkipWithError("expected only hits");
  state.SetItemsProcessed(state.iterations());
}

// Insert of new keys into a full cache of 10K entries: every insert evicts (and copies the
// 100-byte value, as the engine would).
template <typename Cache>
void BM_InsertEvicting(benchmark::State& state) {
  const auto& keys = Keys();
  Cache cache(10000 * kCharge);
  const std::string value(kValueBytes, 'v');
  uint32_t id = 0;
  for (; id < 20000; ++id) cache.Insert(keys[id], 1, value);
  for (auto _ : state) {
    cache.Insert(keys[id], 1, value);
    if (++id == kKeys) id = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// The read-through loop of the engine: Get, Insert on a miss; Zipf(0.99) over 1M keys, a cache
// of state.range(0) per mille of the working set.
template <typename Cache>
void BM_ReadThrough(benchmark::State& state) {
  const auto& keys = Keys();
  const auto& trace = Trace(kKeys);
  Cache cache(kKeys * kCharge * state.range(0) / 1000);
  const std::string value(kValueBytes, 'v');
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[trace[i]];
    if (cache.Get(key, 1) == nullptr) cache.Insert(key, 1, value);
    if (++i == trace.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["miss_ratio"] = static_cast<double>(cache.misses()) /
                                 static_cast<double>(cache.hits() + cache.misses());
}

BENCHMARK_TEMPLATE(BM_GetHit, S3FifoCache);
BENCHMARK_TEMPLATE(BM_GetHit, LruCache);
BENCHMARK_TEMPLATE(BM_InsertEvicting, S3FifoCache);
BENCHMARK_TEMPLATE(BM_InsertEvicting, LruCache);
BENCHMARK_TEMPLATE(BM_ReadThrough, S3FifoCache)->Arg(10)->Arg(100);
BENCHMARK_TEMPLATE(BM_ReadThrough, LruCache)->Arg(10)->Arg(100);

}  // namespace
}  // namespace beyondkv::engine
