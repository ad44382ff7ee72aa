// kv-resp-gateway: serves the Redis protocol on TCP and routes each key to its kv-shard.
// Normally started by `beyond-kv`; can be run alone against running shards.
#include <glog/logging.h>

#include <CLI/CLI.hpp>
#include <string>

#include "common/logging.h"
#include "common/process.h"
#include "gateway/resp_gateway.h"

int main(int argc, char** argv) {
  beyondkv::gateway::GatewayConfig config;
  CLI::App app{"kv-resp-gateway: the Redis-protocol gateway of beyond-kv"};
  app.add_option("--bind", config.bind, "listen address")->capture_default_str();
  app.add_option("--port", config.port, "TCP port")->capture_default_str();
  app.add_option("--socket-dir", config.socket_dir,
                 "directory of the shards' unix sockets (shard-<i>.sock)")
      ->required();
  app.add_option("--shard-count", config.shard_count, "number of shards S")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--threads", config.threads, "I/O threads")->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--max-value-bytes", config.max_value_bytes, "largest value accepted, bytes")
      ->capture_default_str();
  app.add_option("--max-conns", config.max_conns, "maximum open client connections")
      ->capture_default_str();
  app.add_option("--idle-timeout-secs", config.idle_timeout_secs,
                 "close clients idle this long; 0 = never")
      ->capture_default_str();
  app.add_option("--fsync", config.fsync, "the shards' fsync policy, reported by CONFIG GET")
      ->capture_default_str();
  app.add_option("--shard-transport", config.shard_transport,
                 "how batches reach the shards: link (framed, on shard-<i>.link) or grpc")
      ->envname("KV_SHARD_TRANSPORT")->capture_default_str()->check(CLI::IsMember({"link", "grpc"}));
  app.add_option("--requirepass", config.requirepass, "password clients must AUTH with")
      ->envname("KV_REQUIREPASS");
  CLI11_PARSE(app, argc, argv);

  beyondkv::InitLogging(argv[0], "kv-resp-gateway");
  beyondkv::InitServerProcess([] { beyondkv::gateway::RequestGatewayShutdown(); });

  absl::Status status = beyondkv::gateway::RunRespGateway(config);
  if (!status.ok()) {
    LOG(ERROR) << "fatal: " << status;
    return 1;
  }
  return 0;
}
