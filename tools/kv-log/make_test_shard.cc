// Test helper for kv_log_cli_test.sh: makes a shard directory at argv[1] with the engine: a
// few keys (one with metadata and an expiry, one deleted), sealed segments with hint files.
#include <iostream>
#include <string>

#include "engine/engine.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_test_shard <dir>\n";
    return 2;
  }
  beyondkv::engine::Options options;
  options.segment_bytes = 300;
  auto engine = beyondkv::engine::Engine::Open(options, argv[1]);
  if (!engine.ok()) {
    std::cerr << engine.status() << "\n";
    return 1;
  }
  beyondkv::engine::Engine& e = **engine;
  for (int i = 0; i < 20; ++i) {
    beyondkv::engine::PutOptions put;
    if (i == 3) {
      put.metadata = "meta";
      put.expire_at_ms = 4102444800000;  // 2100-01-01
    }
    if (!e.Put(0, "key" + std::to_string(i), "value-" + std::to_string(i), put).ok() ||
        !e.Commit().ok()) {
      return 1;
    }
  }
  if (!e.Delete(0, "key5").ok() || !e.Put(1, "other", "x", {}).ok() || !e.Commit().ok()) return 1;
  for (int i = 0; i < 1000; ++i) {
    if (!e.RunBackgroundWork().ok()) return 1;  // hint files
  }
  return 0;
}
