// MGET of 100 keys through beyondkv::Client (gRPC straight to the shards) beside the same
// MGET through the RESP gateway (hiredis, one connection), both against one beyond-kv this
// program starts on a temporary directory (4 shards unless --shards=N).
//
//   bazel run -c opt //sdk/cpp:kv_client_bench
//   bazel run -c opt //sdk/cpp:kv_client_bench -- --benchmark_min_time=2 --shards=8
//
// Figures are only meaningful on a quiet machine; none are recorded in the repository.
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sdk/cpp/kv_client.h"
#include "tests/server_process.h"

namespace {

constexpr int kKeys = 100;

std::vector<std::string> BenchKeys() {
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("bench:" + std::to_string(i));
  return keys;
}

void BM_ClientMGet100(benchmark::State& state, beyondkv::Client* client) {
  const std::vector<std::string> keys = BenchKeys();
  for (auto _ : state) {
    absl::StatusOr<std::vector<std::optional<std::string>>> values = client->MGet(keys);
    if (!values.ok() || values->size() != kKeys || !(*values)[kKeys - 1]) {
      state.SkipWithError("MGet failed");
      return;
    }
    benchmark::DoNotOptimize(values);
  }
  state.SetItemsProcessed(state.iterations() * kKeys);
}

void BM_RespMGet100(benchmark::State& state, redisContext* redis) {
  std::vector<std::string> args = BenchKeys();
  args.insert(args.begin(), "MGET");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  for (auto _ : state) {
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(redis, static_cast<int>(argv.size()), argv.data(), lens.data()));
    const bool ok = reply != nullptr && reply->type == REDIS_REPLY_ARRAY &&
                    reply->elements == kKeys && reply->element[kKeys - 1]->type == REDIS_REPLY_STRING;
    if (reply != nullptr) freeReplyObject(reply);
    if (!ok) {
      state.SkipWithError("MGET failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kKeys);
}

}  // namespace

int main(int argc, char** argv) {
  // Our own flag first (benchmark::Initialize rejects flags it does not know).
  int shards = 4;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--shards=", 9) == 0) {
      shards = std::atoi(argv[i] + 9);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());

  // beyond-kv from this binary's runfiles (bazel run, or bazel-bin/... run by hand).
  if (std::getenv("TEST_SRCDIR") == nullptr) {
    const std::string runfiles = std::string(argv[0]) + ".runfiles";
    if (access(runfiles.c_str(), F_OK) == 0) setenv("TEST_SRCDIR", runfiles.c_str(), 1);
  }
  beyondkv::testing::TempDir tmp;
  const int port = beyondkv::testing::PickFreePort();
  beyondkv::testing::ServerProcess server(
      beyondkv::testing::RunfilePath("services/beyond-kv/beyond-kv"),
      {"--data-dir=" + tmp.path() + "/data", "--resp-port=" + std::to_string(port),
       "--http-port=0", "--threads=" + std::to_string(shards)},
      tmp.path() + "/server.log");
  server.Start();
  beyondkv::testing::RedisConn redis = beyondkv::testing::ConnectWhenReady(port);
  if (redis == nullptr) {
    std::fprintf(stderr, "beyond-kv did not start:\n%s\n", server.Log().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<beyondkv::Client>> client =
      beyondkv::Client::Open(tmp.path() + "/data/run");
  if (!client.ok()) {
    std::fprintf(stderr, "open: %s\n", client.status().ToString().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> kvs;
  for (const std::string& key : BenchKeys()) kvs.emplace_back(key, std::string(64, 'v'));
  if (absl::StatusOr<uint64_t> written = (*client)->MSet(kvs); !written.ok()) {
    std::fprintf(stderr, "mset: %s\n", written.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "beyond-kv: %d shards, 100 keys of 64 bytes\n", shards);

  benchmark::RegisterBenchmark("MGet100/sdk_grpc", BM_ClientMGet100, client->get());
  benchmark::RegisterBenchmark("MGet100/resp_gateway", BM_RespMGet100, redis.get());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
