// engine-bench: measurements of the storage engine through its public API (engine/engine.h),
// in-process, no server. Results and the exact commands: docs/benchmarks/engine.md.
//
//   engine-bench index-memory [--keys N] [--key-bytes B] [--order random|sequential]
//       Opens an engine in a temporary directory, inserts N keys (values of 8 bytes, a
//       Commit() every 1,000 puts) and prints the heap growth per key (glibc mallinfo2:
//       in-use bytes, arena and mmap), the RSS growth per key and the engine's own estimate
//       (EngineStats::index_bytes).
//
//   engine-bench recovery [--data-mib M] [--value-bytes V] [--segment-mib S] [--dir D]
//       Writes M MiB of V-byte values under unique keys (fsync never, segments of S MiB),
//       lets RunBackgroundWork() write the hint file of every sealed segment, closes the
//       engine, then times Engine::Open: with the hint files, then again after deleting them
//       (every segment scanned record by record). Each case runs cold (every file's pages
//       dropped from the page cache with posix_fadvise(DONTNEED) first; the share still
//       resident is printed) and warm (right after). Prints a Markdown table with seconds
//       per GiB of log.
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace {

namespace fs = std::filesystem;
using beyondkv::engine::Engine;
using beyondkv::engine::FsyncPolicy;
using beyondkv::engine::Options;
using beyondkv::engine::PutOptions;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "engine-bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(std::string(what) + ": " + v.status().ToString());
  return std::move(*v);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string MakeTempDir() {
  char path[] = "/tmp/bkv-engine-bench-XXXXXX";
  if (mkdtemp(path) == nullptr) Die("mkdtemp failed");
  return path;
}

// Fixed-width key number `i`: "k" + zero-padded decimal, exactly `bytes` long (>= 8).
std::string Key(uint64_t i, size_t bytes) {
  std::string digits = std::to_string(i);
  std::string key = "k";
  key.append(bytes - 1 - digits.size(), '0');
  key += digits;
  return key;
}

struct Memory {
  uint64_t heap = 0;  // mallinfo2: arena bytes in use + mmapped blocks
  uint64_t rss = 0;
};

Memory MeasureMemory() {
  Memory m;
  struct mallinfo2 mi = mallinfo2();
  m.heap = mi.uordblks + mi.hblkhd;
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  m.rss = static_cast<uint64_t>(resident) * sysconf(_SC_PAGESIZE);
  return m;
}

int IndexMemory(uint64_t keys, size_t key_bytes, const std::string& order) {
  if (key_bytes < 8 || std::to_string(keys).size() + 1 > key_bytes) Die("--key-bytes too small");
  const std::string dir = MakeTempDir();
  Options options;
  options.fsync = FsyncPolicy::kNever;
  options.memory_bytes = 1 << 20;
  options.reclaim_sealed_threshold = 0;
  std::vector<uint32_t> ids(keys);
  std::iota(ids.begin(), ids.end(), 0);
  if (order == "random") std::shuffle(ids.begin(), ids.end(), std::mt19937_64(42));

  std::unique_ptr<Engine> engine = Check(Engine::Open(options, dir), "Open");
  // Warm-up: a first put and commit allocate the segment and its buffers.
  Check(engine->Put(1, "warm-up", "v", PutOptions{}), "Put");
  Check(engine->Commit(), "Commit");
  malloc_trim(0);
  const Memory before = MeasureMemory();
  const auto start = std::chrono::steady_clock::now();
  const std::string value = "01234567";
  for (uint64_t n = 0; n < keys; ++n) {
    Check(engine->Put(0, Key(ids[n], key_bytes), value, PutOptions{}), "Put");
    if (n % 1000 == 999) Check(engine->Commit(), "Commit");
  }
  Check(engine->Commit(), "Commit");
  const double elapsed = Seconds(start);
  malloc_trim(0);
  const Memory after = MeasureMemory();
  const beyondkv::engine::EngineStats stats = engine->Stats();
  uint64_t count = 0;
  for (const auto& ns : stats.namespaces) {
    if (ns.ns == 0) count = ns.keys;
  }
  if (count != keys) Die("key count mismatch");
  const double n = static_cast<double>(keys);
  std::printf("| %" PRIu64 " | %zu | %s | %.1f | %.1f | %.1f | %.0f |\n", keys, key_bytes,
              order.c_str(), (after.heap - before.heap) / n, (after.rss - before.rss) / n,
              (stats.index_bytes - 0.0) / n, n / elapsed);
  engine.reset();
  fs::remove_all(dir);
  return 0;
}

// Bytes of the files of `dir` (recursively) whose name ends with `suffix`, and their count.
std::pair<uint64_t, uint64_t> FilesWithSuffix(const std::string& dir, const std::string& suffix) {
  uint64_t bytes = 0, count = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      bytes += e.file_size();
      ++count;
    }
  }
  return {bytes, count};
}

// Drops the (clean) pages of every file under `dir` from the page cache; returns the share
// of the files' pages still resident afterwards (mincore).
double DropPageCache(const std::string& dir) {
  uint64_t pages = 0, resident = 0;
  const long page = sysconf(_SC_PAGESIZE);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const int fd = open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    const uint64_t size = e.file_size();
    if (size > 0) {
      void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (map != MAP_FAILED) {
        const uint64_t n = (size + page - 1) / page;
        std::vector<unsigned char> vec(n);
        if (mincore(map, size, vec.data()) == 0) {
          for (unsigned char v : vec) resident += v & 1;
        }
        pages += n;
        munmap(map, size);
      }
    }
    close(fd);
  }
  return pages == 0 ? 0.0 : static_cast<double>(resident) / pages;
}

int Recovery(uint64_t data_mib, uint64_t value_bytes, uint64_t segment_mib, std::string dir) {
  const bool own_dir = dir.empty();
  if (own_dir) dir = MakeTempDir();
  Options options;
  options.fsync = FsyncPolicy::kNever;
  options.memory_bytes = 1 << 20;
  options.segment_bytes = segment_mib << 20;
  options.reclaim_sealed_threshold = 0;  // unique keys: nothing to reclaim anyway

  const uint64_t records = (data_mib << 20) / value_bytes;
  {
    std::unique_ptr<Engine> engine = Check(Engine::Open(options, dir), "Open");
    std::string value(value_bytes, '\0');
    std::mt19937_64 rng(7);
    for (char& c : value) c = static_cast<char>(rng());
    const auto start = std::chrono::steady_clock::now();
    uint64_t staged = 0;
    for (uint64_t i = 0; i < records; ++i) {
      std::memcpy(value.data(), &i, std::min<size_t>(sizeof i, value.size()));
      Check(engine->Put(0, Key(i, 16), value, PutOptions{}), "Put");
      staged += value_bytes;
      if (staged >= (1 << 20)) {
        Check(engine->Commit(), "Commit");
        staged = 0;
      }
    }
    Check(engine->Commit(), "Commit");
    std::fprintf(stderr, "wrote %" PRIu64 " records in %.1f s; writing hint files\n", records,
                 Seconds(start));
    // Hint files: one per sealed segment (all but the active one), written in the background.
    const auto hint_start = std::chrono::steady_clock::now();
    for (;;) {
      const uint64_t logs = FilesWithSuffix(dir, ".log").second;
      const uint64_t hints = FilesWithSuffix(dir, ".hint").second;
      if (hints + 1 >= logs) break;
      if (Seconds(hint_start) > 600) Die("hint files not written after 600 s");
      Check(engine->RunBackgroundWork(), "RunBackgroundWork");
    }
    Check(engine->SyncAll(), "SyncAll");
    std::fprintf(stderr, "hint files written in %.1f s\n", Seconds(hint_start));
  }
  const auto [log_bytes, segments] = FilesWithSuffix(dir, ".log");
  const auto [hint_bytes, hints] = FilesWithSuffix(dir, ".hint");
  const double log_gib = log_bytes / double(1ull << 30);
  std::printf("log: %.3f GiB in %" PRIu64 " segments of %" PRIu64 " MiB, %" PRIu64
              " records of %" PRIu64 "-byte values and 16-byte keys; %" PRIu64
              " hint files, %.1f MiB\n\n",
              log_gib, segments, segment_mib, records, value_bytes, hints, hint_bytes / 1048576.0);
  std::printf("| hint files | page cache | resident before Open | Open s | s per GiB of log | "
              "segments from hints | bytes scanned | keys |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (bool with_hints : {true, false}) {
    if (!with_hints) {
      for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.path().extension() == ".hint") fs::remove(e.path());
      }
    }
    for (bool cold : {true, false}) {
      const double resident = cold ? DropPageCache(dir) : 1.0;
      const auto start = std::chrono::steady_clock::now();
      std::unique_ptr<Engine> engine = Check(Engine::Open(options, dir), "Open");
      const double open_s = Seconds(start);
      const beyondkv::engine::RecoveryStats& r = engine->recovery_stats();
      if (r.keys != records) Die("recovered key count mismatch");
      std::printf("| %s | %s | %s | %.2f | %.2f | %" PRIu64 "/%" PRIu64 " | %" PRIu64
                  " | %" PRIu64 " |\n",
                  with_hints ? "yes" : "deleted", cold ? "cold" : "warm",
                  cold ? (std::to_string(static_cast<int>(resident * 100 + 0.5)) + "%").c_str()
                       : "all",
                  open_s, open_s / log_gib, r.hint_files, r.segments, r.bytes_scanned, r.keys);
      std::fflush(stdout);
    }
  }
  if (own_dir) fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"engine-bench: storage engine measurements (docs/benchmarks/engine.md)"};
  app.require_subcommand(1);

  uint64_t keys = 1000000;
  size_t key_bytes = 16;
  std::string order = "random";
  CLI::App* memory = app.add_subcommand("index-memory", "heap and RSS growth per indexed key");
  memory->add_option("--keys", keys, "keys to insert")->capture_default_str();
  memory->add_option("--key-bytes", key_bytes, "bytes per key (>= 8)")->capture_default_str();
  memory->add_option("--order", order, "insertion order")
      ->check(CLI::IsMember({"random", "sequential"}))
      ->capture_default_str();

  uint64_t data_mib = 1024, value_bytes = 4096, segment_mib = 64;
  std::string dir;
  CLI::App* recovery =
      app.add_subcommand("recovery", "Engine::Open time per GiB of log, with and without hints");
  recovery->add_option("--data-mib", data_mib, "MiB of values to write")->capture_default_str();
  recovery->add_option("--value-bytes", value_bytes, "bytes per value")->capture_default_str();
  recovery->add_option("--segment-mib", segment_mib, "segment size (Options::segment_bytes)")
      ->capture_default_str();
  recovery->add_option("--dir", dir, "engine directory (default: a new one under /tmp, removed)");

  CLI11_PARSE(app, argc, argv);
  if (memory->parsed()) {
    std::printf("| keys | key bytes | order | heap bytes/key | RSS bytes/key | "
                "index_bytes estimate/key | puts/s |\n|---|---|---|---|---|---|---|\n");
    return IndexMemory(keys, key_bytes, order);
  }
  return Recovery(data_mib, value_bytes, segment_mib, dir);
}
