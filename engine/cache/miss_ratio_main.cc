// miss_ratio: replays a Zipf request trace through S3FifoCache and LruCache at several cache
// sizes and prints their miss ratios as a Markdown table (the table in docs/cache.md).
//
// Each request is a read-through: Get(key); on a miss, Insert(key, value). Every key has the
// same size and every value the same size, so each entry costs the same charge and the budget
// of a size of p% holds p% of the key space. Miss ratios count every request, cold misses too.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/container/flat_hash_set.h"
#include "engine/cache/lru_cache.h"
#include "engine/cache/s3fifo_cache.h"
#include "engine/cache/zipf_trace.h"

namespace beyondkv::engine {
namespace {

struct Options {
  uint32_t keys = 1000000;
  uint64_t requests = 10000000;
  double alpha = 0.99;
  uint64_t value_bytes = 100;
  uint64_t seed = 1;
  std::vector<double> sizes_percent = {0.1, 1, 5, 10, 20};
  double small_fraction = 0.1;
};

// The trace's keys, stored back to back.
class KeySpace {
 public:
  explicit KeySpace(uint32_t n) : bytes_(static_cast<size_t>(n) * kTraceKeyBytes, '\0') {
    for (uint32_t id = 0; id < n; ++id) TraceKey(id).copy(&bytes_[id * kTraceKeyBytes],
                                                          kTraceKeyBytes);
  }
  std::string_view operator[](uint32_t id) const {
    return std::string_view(&bytes_[static_cast<size_t>(id) * kTraceKeyBytes], kTraceKeyBytes);
  }

 private:
  std::string bytes_;
};

template <typename Cache>
double Replay(Cache& cache, const std::vector<uint32_t>& trace, const KeySpace& keys,
              const std::string& value) {
  for (uint32_t id : trace) {
    if (cache.Get(keys[id], 1) == nullptr) cache.Insert(keys[id], 1, value);
  }
  return static_cast<double>(cache.misses()) / static_cast<double>(trace.size());
}

int Run(const Options& options) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const std::vector<uint32_t> trace =
      ZipfTrace(options.keys, options.alpha, options.requests, options.seed);
  const KeySpace keys(options.keys);
  const std::string value(options.value_bytes, 'v');
  const uint64_t charge = cache_internal::EntryCharge(kTraceKeyBytes, options.value_bytes);
  const uint64_t working_set_bytes = charge * options.keys;
  absl::flat_hash_set<uint32_t> distinct(trace.begin(), trace.end());
  const double cold_miss_ratio =
      static_cast<double>(distinct.size()) / static_cast<double>(trace.size());

  std::printf(
      "Zipf(%.2f) over %u keys of %zu bytes, values of %llu bytes, %llu requests, seed %llu;\n"
      "read-through (Get, Insert on a miss). Entry charge %llu bytes (key + value + %llu\n"
      "overhead); working set %llu bytes (every key). S3-FIFO small queue: %.0f%% of the budget.\n"
      "%zu distinct keys requested: cold misses alone give %.4f.\n\n",
      options.alpha, options.keys, kTraceKeyBytes,
      static_cast<unsigned long long>(options.value_bytes),
      static_cast<unsigned long long>(options.requests),
      static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(charge),
      static_cast<unsigned long long>(cache_internal::kEntryOverheadBytes),
      static_cast<unsigned long long>(working_set_bytes), options.small_fraction * 100,
      distinct.size(), cold_miss_ratio);
  std::printf(
      "| cache size (%% of working set) | budget (bytes) | entries | LRU miss ratio | "
      "S3-FIFO miss ratio | S3-FIFO vs LRU |\n|---:|---:|---:|---:|---:|---:|\n");
  for (double percent : options.sizes_percent) {
    const auto budget = static_cast<uint64_t>(working_set_bytes * percent / 100);
    LruCache lru(budget);
    const double lru_miss = Replay(lru, trace, keys, value);
    S3FifoCache s3fifo(budget, options.small_fraction);
    const double s3fifo_miss = Replay(s3fifo, trace, keys, value);
    std::printf("| %g | %llu | %llu | %.4f | %.4f | %+.1f%% |\n", percent,
                static_cast<unsigned long long>(budget),
                static_cast<unsigned long long>(budget / charge), lru_miss, s3fifo_miss,
                100 * (s3fifo_miss - lru_miss) / lru_miss);
    std::fflush(stdout);
  }
  std::fprintf(stderr, "took %.1f s\n",
               std::chrono::duration<double>(Clock::now() - start).count());
  return 0;
}

}  // namespace
}  // namespace beyondkv::engine

int main(int argc, char** argv) {
  beyondkv::engine::Options options;
  CLI::App app{"miss_ratio: S3-FIFO vs LRU miss ratios on a Zipf trace, as a Markdown table"};
  app.add_option("--keys", options.keys, "distinct keys in the key space")
      ->capture_default_str()->check(CLI::Range(1u, 1u << 30));
  app.add_option("--requests", options.requests, "requests replayed")->capture_default_str();
  app.add_option("--alpha", options.alpha, "Zipf exponent")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--value-bytes", options.value_bytes, "size of every value")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "trace seed")->capture_default_str();
  app.add_option("--sizes", options.sizes_percent, "cache sizes, % of the working set bytes")
      ->capture_default_str()->delimiter(',');
  app.add_option("--small-fraction", options.small_fraction,
                 "share of the budget for S3-FIFO's small queue")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);
  return beyondkv::engine::Run(options);
}
