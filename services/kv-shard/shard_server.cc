#include "services/kv-shard/shard_server.h"

#include <glog/logging.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/memory_release.h"
#include "common/random_seed.h"
#include "common/socket_paths.h"
#include "proto/shard.grpc.pb.h"
#include "services/kv-shard/engine_worker.h"

namespace beyondkv::shard {
namespace {

absl::Mutex g_shutdown_mu;
bool g_shutdown ABSL_GUARDED_BY(g_shutdown_mu) = false;

// How often the waiting main thread returns free allocator memory, and past how many free
// bytes (memory_release.h; the gateways use the same figures).
constexpr absl::Duration kReleaseInterval = absl::Seconds(2);
constexpr size_t kReleaseThreshold = 16 << 20;
constexpr absl::Duration kReleaseWindow = absl::Seconds(10);  // after a large batch

// gRPC handlers hand each call to the engine thread and return; the engine thread finishes
// the reactor once the call's ops are applied and committed.
class ShardService final : public v1::Shard::CallbackService {
 public:
  explicit ShardService(EngineWorker* worker) : worker_(worker) {}

  grpc::ServerUnaryReactor* Execute(grpc::CallbackServerContext* context,
                                    const v1::BatchRequest* request,
                                    v1::BatchResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    worker_->Submit(request, response, [reactor] { reactor->Finish(grpc::Status::OK); });
    return reactor;
  }

  grpc::ServerWriteReactor<v1::WatchEvent>* Watch(grpc::CallbackServerContext* /*context*/,
                                                  const v1::WatchRequest* request) override {
    auto handle = std::make_shared<WatcherHandle>(*request);
    auto* reactor = new WatchReactor(handle);
    worker_->AddWatcher(std::move(handle));
    return reactor;
  }

 private:
  EngineWorker* worker_;
};

}  // namespace

void RequestShutdown() {
  absl::MutexLock lock(&g_shutdown_mu);
  g_shutdown = true;
}

absl::Status RunShardServer(const ShardServerOptions& options) {
  absl::StatusOr<std::unique_ptr<engine::Engine>> opened =
      engine::Engine::Open(options.engine, options.shard_dir);
  if (!opened.ok()) return opened.status();
  const engine::RecoveryStats& stats = (*opened)->recovery_stats();
  LOG(INFO) << "recovered " << options.shard_dir << ": " << stats.keys << " keys, "
            << stats.records << " records in " << stats.segments << " segments, "
            << stats.bytes_scanned << " bytes scanned in " << stats.elapsed_us / 1000
            << " ms; torn tail truncated: " << stats.torn_bytes_truncated
            << " bytes; corrupt records: " << stats.corrupt_records;

  // No other user may own or replace the sockets every request travels through.
  for (const std::string& path : {options.socket_path, options.link_socket_path}) {
    if (path.empty()) continue;
    if (absl::Status s = CheckPrivateSocketPath(path); !s.ok()) return s;
  }
  EngineWorker worker(std::move(*opened));
  worker.SetAdaptiveScheduling(options.adaptive_scheduling);
  worker.SetIdlePoll(options.idle_poll);
  if (!options.link_socket_path.empty()) {
    absl::StatusOr<int> link_fd = LinkServer::Listen(options.link_socket_path);
    if (!link_fd.ok()) return link_fd.status();
    LinkServerOptions link;
    link.shard_id = options.engine.shard_id;
    link.shard_count = options.engine.shard_count;
    // A fresh random id per process start: a gateway that sees it change knows the shard
    // restarted (and that nothing it had in flight survived).
    link.boot_id = NewRandomSeed();
    worker.ServeLink(link, *link_fd);
    LOG(INFO) << "serving the shard link on " << options.link_socket_path;
  }
  worker.Start();

  // A socket left by a killed predecessor would make bind() fail.
  if (unlink(options.socket_path.c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(
        absl::StrCat("cannot remove stale socket ", options.socket_path, ": ", strerror(errno)));
  }
  ShardService service(&worker);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + options.socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  // A batch carries many values; the gateway bounds batches, so the transport does not need
  // to (gRPC's default of 4 MiB is below --max-value-bytes).
  builder.SetMaxReceiveMessageSize(INT_MAX);
  builder.SetMaxSendMessageSize(INT_MAX);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on unix:", options.socket_path));
  }
  LOG(INFO) << "serving on unix:" << options.socket_path;

  {
    absl::MutexLock lock(&g_shutdown_mu);
    // Meanwhile, return what a burst left free in the allocator: a batch of a million keys
    // frees its ops and strings in the engine thread's arena, which glibc gives back only
    // from the top of a heap (memory_release.h). Only for a while after a large batch:
    // measuring the free bytes walks every free chunk of every arena, under the arena's
    // lock, which a shard with gigabytes of cached values should not pay every 2 s.
    while (!g_shutdown_mu.AwaitWithTimeout(absl::Condition(&g_shutdown), kReleaseInterval)) {
      g_shutdown_mu.Unlock();
      const int64_t since_ms = absl::ToUnixMillis(absl::Now()) - worker.last_large_batch_ms();
      if (since_ms < absl::ToInt64Milliseconds(kReleaseWindow)) {
        MaybeReleaseFreeMemory(kReleaseThreshold);
      }
      g_shutdown_mu.Lock();
    }
  }
  LOG(INFO) << "shutting down: draining in-flight calls";
  // Watch streams never end by themselves: end them first. The engine thread must keep
  // running while in-flight calls complete.
  worker.CloseWatchers();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  worker.Stop();  // applies what is queued, syncs every log and closes the link's lanes
  unlink(options.socket_path.c_str());
  if (!options.link_socket_path.empty()) unlink(options.link_socket_path.c_str());
  LOG(INFO) << "shutdown complete";
  return absl::OkStatus();
}

}  // namespace beyondkv::shard
