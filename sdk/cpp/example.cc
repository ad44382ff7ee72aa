// A tour of beyondkv::Client against a running beyond-kv (sdk/cpp/README.md):
//
//   beyond-kv --data-dir=/tmp/kv &
//   bazel run //sdk/cpp:example -- /tmp/kv/run
#include <cstdio>
#include <string>
#include <vector>

#include "sdk/cpp/kv_client.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <data-dir>/run\n", argv[0]);
    return 2;
  }
  absl::StatusOr<std::unique_ptr<beyondkv::Client>> opened = beyondkv::Client::Open(argv[1]);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  beyondkv::Client& kv = **opened;
  std::printf("%u shards\n", kv.shard_count());

  // Follow every change under "example:" from now on: live once kReady arrives.
  absl::StatusOr<std::unique_ptr<beyondkv::WatchStream>> watch = kv.Watch({"example:"});
  if (!watch.ok()) return 1;
  absl::StatusOr<std::optional<beyondkv::WatchEvent>> ready = (*watch)->Next(5000);
  if (!ready.ok() || !ready->has_value()) {
    std::fprintf(stderr, "watch: %s\n", ready.ok() ? "no ready within 5 s" : ready.status().ToString().c_str());
    return 1;
  }

  absl::StatusOr<uint64_t> rev = kv.Set("example:greeting", "hello");
  if (!rev.ok()) {
    std::fprintf(stderr, "set: %s\n", rev.status().ToString().c_str());
    return 1;
  }
  // Compare-and-set: succeeds at the revision just written, fails at a stale one.
  beyondkv::SetOptions cas;
  cas.if_revision = *rev;
  absl::StatusOr<uint64_t> rev2 = kv.Set("example:greeting", "hello again", cas);
  absl::StatusOr<uint64_t> stale = kv.Set("example:greeting", "lost update", cas);
  std::printf("cas at %llu: %s; again: %s\n", static_cast<unsigned long long>(*rev),
              rev2.ok() ? "ok" : rev2.status().ToString().c_str(),
              stale.status().ToString().c_str());

  beyondkv::SetOptions ttl;
  ttl.ttl_ms = 60'000;
  (void)kv.Set("example:session", "token", ttl);
  (void)kv.MSet({{"example:a", "1"}, {"example:b", "2"}, {"example:c", "3"}});
  absl::StatusOr<int64_t> visits = kv.Incr("example:visits");

  absl::StatusOr<std::vector<std::optional<std::string>>> values =
      kv.MGet({"example:a", "example:missing", "example:c"});
  if (values.ok()) {
    for (const std::optional<std::string>& v : *values) {
      std::printf("mget: %s\n", v ? v->c_str() : "(absent)");
    }
  }
  absl::StatusOr<beyondkv::Entry> greeting = kv.Get("example:greeting");
  if (greeting.ok()) {
    std::printf("get: %s at revision %llu\n", greeting->value.c_str(),
                static_cast<unsigned long long>(greeting->revision));
  }
  if (visits.ok()) std::printf("visits: %lld\n", static_cast<long long>(*visits));

  absl::StatusOr<std::vector<std::string>> keys = kv.ScanAll("example:");
  if (keys.ok()) std::printf("scan: %zu keys\n", keys->size());

  // The changes made above, in revision order, across shards.
  for (;;) {
    absl::StatusOr<std::optional<beyondkv::WatchEvent>> event = (*watch)->Next(200);
    if (!event.ok()) {
      std::fprintf(stderr, "watch: %s\n", event.status().ToString().c_str());
      break;
    }
    if (!event->has_value()) break;  // quiet for 200 ms: done
    const beyondkv::WatchEvent& e = **event;
    std::printf("watch: %s %s = %s @%llu\n",
                e.kind == beyondkv::WatchEvent::Kind::kSet ? "set" : "del", e.key.c_str(),
                e.value.c_str(), static_cast<unsigned long long>(e.revision));
  }
  (*watch)->Cancel();
  (void)kv.Delete("example:greeting");
  return 0;
}
