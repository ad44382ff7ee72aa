// The first end-to-end path, against real processes: `beyond-kv` on an ephemeral port in a
// temporary directory, spoken to with hiredis. Writes across shards and namespaces survive
// SIGTERM + restart; a SIGKILLed shard is restarted by the supervisor and serves again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "gateway/shardlink/router.h"
#include "tests/server_process.h"

namespace beyondkv::testing {
namespace {

constexpr uint32_t kShards = 3;
constexpr int kKeysPerNamespace = 200;
const uint32_t kNamespaces[] = {0, 3, 15};

std::string Key(int i) { return "key:" + std::to_string(i); }
std::string Value(uint32_t ns, int i) { return "value-" + std::to_string(ns) + "-" + std::to_string(i); }

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = PickFreePort();
    http_port_ = PickFreePort();
    data_dir_ = tmp_.path() + "/data";
  }

  std::unique_ptr<ServerProcess> StartServer() {
    auto server = std::make_unique<ServerProcess>(
        RunfilePath("services/beyond-kv/beyond-kv"),
        std::vector<std::string>{"--data-dir=" + data_dir_, "--resp-port=" + std::to_string(port_),
                                 "--http-port=" + std::to_string(http_port_),
                                 "--threads=" + std::to_string(kShards), "--fsync=always"},
        tmp_.path() + "/server.log");
    server->Start();
    return server;
  }

  // Every key written by WriteAll() reads back with its value, per namespace.
  void ExpectAllPresent(redisContext* c) {
    for (uint32_t ns : kNamespaces) {
      ASSERT_EQ(Command(c, {"SELECT", std::to_string(ns)}), "OK");
      for (int i = 0; i < kKeysPerNamespace; ++i) {
        ASSERT_EQ(Command(c, {"GET", Key(i)}), "\"" + Value(ns, i) + "\"") << "ns " << ns;
      }
      EXPECT_EQ(Command(c, {"DBSIZE"}), "(integer) " + std::to_string(kKeysPerNamespace));
    }
    ASSERT_EQ(Command(c, {"SELECT", "0"}), "OK");
  }

  TempDir tmp_;
  int port_ = 0;
  int http_port_ = 0;
  std::string data_dir_;
};

TEST_F(EndToEndTest, WritesSurviveRestartAndAKilledShardComesBack) {
  // The keys really spread over every shard.
  std::set<uint32_t> shards_used;
  for (int i = 0; i < kKeysPerNamespace; ++i) {
    shards_used.insert(shardlink::ShardForKey(Key(i), kShards));
  }
  ASSERT_EQ(shards_used.size(), kShards);

  auto server = StartServer();
  RedisConn c = ConnectWhenReady(port_);
  ASSERT_NE(c, nullptr) << server->Log();

  for (uint32_t ns : kNamespaces) {
    ASSERT_EQ(Command(c.get(), {"SELECT", std::to_string(ns)}), "OK");
    for (int i = 0; i < kKeysPerNamespace; ++i) {
      ASSERT_EQ(Command(c.get(), {"SET", Key(i), Value(ns, i)}), "OK");
    }
  }
  // Namespaces are separate keyspaces.
  ASSERT_EQ(Command(c.get(), {"SELECT", "7"}), "OK");
  EXPECT_EQ(Command(c.get(), {"GET", Key(1)}), "(nil)");
  EXPECT_EQ(Command(c.get(), {"DBSIZE"}), "(integer) 0");
  ASSERT_EQ(Command(c.get(), {"SELECT", "0"}), "OK");
  ExpectAllPresent(c.get());

  // Multi-key commands across shards, and deletes that must also survive the restart (in
  // namespace 5, apart from the counted keys).
  ASSERT_EQ(Command(c.get(), {"SELECT", "5"}), "OK");
  ASSERT_EQ(Command(c.get(), {"MSET", Key(0), "a", Key(1), "b", Key(2), "c"}), "OK");
  EXPECT_EQ(Command(c.get(), {"EXISTS", Key(0), Key(1), Key(2), "missing", Key(0)}),
            "(integer) 4");
  EXPECT_EQ(Command(c.get(), {"SET", "gone:a", "x"}), "OK");
  EXPECT_EQ(Command(c.get(), {"SET", "gone:b", "y"}), "OK");
  EXPECT_EQ(Command(c.get(), {"DEL", "gone:a", "gone:b", "gone:a", "missing"}), "(integer) 2");
  EXPECT_EQ(Command(c.get(), {"MGET", Key(2), "gone:a", Key(1)}), "[\"c\", (nil), \"b\"]");
  EXPECT_EQ(Command(c.get(), {"SET", "ttl:key", "v", "PX", "60000"}), "OK");

  // Clean shutdown.
  c.reset();
  int status = server->Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << server->Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server->Log();
  EXPECT_TRUE(FindProcesses({"kv-shard", data_dir_}).empty()) << "a shard outlived beyond-kv";

  // Everything is there after a restart.
  server = StartServer();
  c = ConnectWhenReady(port_);
  ASSERT_NE(c, nullptr) << server->Log();
  ExpectAllPresent(c.get());
  ASSERT_EQ(Command(c.get(), {"SELECT", "5"}), "OK");
  EXPECT_EQ(Command(c.get(), {"EXISTS", "gone:a", "gone:b"}), "(integer) 0");
  EXPECT_EQ(Command(c.get(), {"MGET", Key(0), Key(1), Key(2)}), "[\"a\", \"b\", \"c\"]");
  EXPECT_EQ(Command(c.get(), {"GET", "ttl:key"}), "\"v\"");
  ASSERT_EQ(Command(c.get(), {"SELECT", "0"}), "OK");

  // SIGKILL one shard: the supervisor restarts it and it serves its keys again.
  const uint32_t victim = 1;
  std::vector<pid_t> pids =
      FindProcesses({"kv-shard", "--shard-id=" + std::to_string(victim) + " ", data_dir_});
  ASSERT_EQ(pids.size(), 1u) << server->Log();
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);
  int victim_key = -1;
  for (int i = 0; i < kKeysPerNamespace && victim_key < 0; ++i) {
    if (shardlink::ShardForKey(Key(i), kShards) == victim) victim_key = i;
  }
  ASSERT_GE(victim_key, 0);
  const std::string victim_flag = "--shard-id=" + std::to_string(victim) + " ";
  const std::string expected = "\"" + Value(0, victim_key) + "\"";
  // Keys on the victim's shard and on another, for the multi-key commands below.
  std::string on_victim, elsewhere;
  for (int i = 0; on_victim.empty() || elsewhere.empty(); ++i) {
    const std::string k = "down:" + std::to_string(i);
    (shardlink::ShardForKey(k, kShards) == victim ? on_victim : elsewhere) = k;
  }
  std::string got;
  int multi_key_errors = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    // While the shard is down its keys answer an error (never a hang, never a wrong value).
    got = Command(c.get(), {"GET", Key(victim_key)});
    if (got != expected) {
      EXPECT_EQ(got.rfind("(error) ERR shard 1 unavailable", 0), 0u) << got;
      // Multi-key commands that touch it answer the same error as a whole (or, if the shard
      // came back meanwhile, their normal reply).
      const std::string mset = Command(c.get(), {"MSET", on_victim, "1", elsewhere, "2"});
      const std::string mget = Command(c.get(), {"MGET", elsewhere, on_victim});
      const std::string exists = Command(c.get(), {"EXISTS", on_victim, elsewhere});
      const std::string del = Command(c.get(), {"DEL", "down:never", on_victim});
      for (const std::string& reply : {mset, mget, exists, del}) {
        if (reply.rfind("(error) ", 0) == 0) {
          EXPECT_EQ(reply.rfind("(error) ERR shard 1 unavailable", 0), 0u) << reply;
          ++multi_key_errors;
        }
      }
      if (mset == "OK") EXPECT_EQ(mget, "[\"2\", \"1\"]");
      if (mset.rfind("(error)", 0) == 0 && mget.rfind("(error)", 0) != 0) {
        EXPECT_EQ(mget.rfind("[", 0), 0u) << mget;  // the shard came back in between
      }
    }
    std::vector<pid_t> now = FindProcesses({"kv-shard", victim_flag, data_dir_});
    if (got == expected && now.size() == 1 && now != pids) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(got, expected) << server->Log();
  EXPECT_GT(multi_key_errors, 0) << "the shard was never seen down by a multi-key command";
  std::vector<pid_t> restarted = FindProcesses({"kv-shard", victim_flag, data_dir_});
  ASSERT_EQ(restarted.size(), 1u);
  EXPECT_NE(restarted[0], pids[0]);
  // The restarted shard accepts writes too, and the other shards were never affected.
  EXPECT_EQ(Command(c.get(), {"SET", Key(victim_key), "after-restart"}), "OK");
  EXPECT_EQ(Command(c.get(), {"GET", Key(victim_key)}), "\"after-restart\"");

  c.reset();
  status = server->Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << server->Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server->Log();
}

// Many clients send at once, so each gateway loop iteration finds several connections
// readable and has several replies to write: the batched socket I/O (gateway --socket-io,
// common/socket_batch.h; the _grpc twin runs the read()/write() path). Every pipelined reply
// arrives in order and intact; replies larger than a socket buffer are written in parts; a
// client that QUITs gets +OK and EOF; one that hangs up with requests in flight affects nobody.
TEST_F(EndToEndTest, ManyClientsPipelineAtOnce) {
  auto server = StartServer();
  constexpr int kClients = 24;
  constexpr int kPerClient = 60;
  const std::string big(3 << 20, 'b');  // far more than a socket buffer takes at once
  std::vector<RedisConn> conns;
  for (int c = 0; c < kClients; ++c) {
    conns.push_back(ConnectWhenReady(port_));
    ASSERT_NE(conns.back(), nullptr) << server->Log();
  }
  auto key = [](int c, int j) { return "pipe:" + std::to_string(c) + ":" + std::to_string(j); };
  auto value = [](int c, int j) { return "v" + std::to_string(c * 1000 + j); };
  for (int round = 0; round < 3; ++round) {
    for (int c = 0; c < kClients; ++c) {
      redisContext* ctx = conns[c].get();
      for (int j = 0; j < kPerClient; ++j) {
        const std::string k = key(c, j);
        const std::string v = value(c, j) + "r" + std::to_string(round);
        const char* set[] = {"SET", k.c_str(), v.c_str()};
        size_t set_len[] = {3, k.size(), v.size()};
        redisAppendCommandArgv(ctx, 3, set, set_len);
        const char* get[] = {"GET", k.c_str()};
        size_t get_len[] = {3, k.size()};
        redisAppendCommandArgv(ctx, 2, get, get_len);
      }
      if (c % 6 == 0) {  // a few clients also move a value larger than a socket buffer
        const char* set[] = {"SET", "pipe:big", big.data()};
        size_t set_len[] = {3, 8, big.size()};
        redisAppendCommandArgv(ctx, 3, set, set_len);
        redisAppendCommand(ctx, "GET pipe:big");
      }
    }
    // Everything is sent before any reply is read, so the requests arrive together.
    for (int c = 0; c < kClients; ++c) {
      int done = 0;
      while (!done) ASSERT_EQ(redisBufferWrite(conns[c].get(), &done), REDIS_OK);
    }
    for (int c = 0; c < kClients; ++c) {
      redisContext* ctx = conns[c].get();
      for (int j = 0; j < kPerClient; ++j) {
        for (int op = 0; op < 2; ++op) {
          void* raw = nullptr;
          ASSERT_EQ(redisGetReply(ctx, &raw), REDIS_OK) << "client " << c << " reply " << j;
          std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(
              static_cast<redisReply*>(raw), freeReplyObject);
          if (op == 0) {
            ASSERT_EQ(reply->type, REDIS_REPLY_STATUS);
            EXPECT_EQ(std::string(reply->str, reply->len), "OK");
          } else {
            ASSERT_EQ(reply->type, REDIS_REPLY_STRING);
            EXPECT_EQ(std::string(reply->str, reply->len),
                      value(c, j) + "r" + std::to_string(round));
          }
        }
      }
      if (c % 6 == 0) {
        void* raw = nullptr;
        ASSERT_EQ(redisGetReply(ctx, &raw), REDIS_OK);
        freeReplyObject(raw);
        ASSERT_EQ(redisGetReply(ctx, &raw), REDIS_OK);
        redisReply* reply = static_cast<redisReply*>(raw);
        ASSERT_EQ(reply->type, REDIS_REPLY_STRING);
        EXPECT_EQ(reply->len, big.size());  // every client's GET saw one whole value
        EXPECT_EQ(std::string(reply->str, reply->len), big);
        freeReplyObject(raw);
      }
    }
  }
  // A client that hangs up with a pipeline unread, and one that QUITs after a pipeline.
  {
    redisContext* gone = conns[1].get();
    for (int j = 0; j < 200; ++j) {
      redisAppendCommand(gone, j % 50 == 0 ? "GET pipe:big" : "GET pipe:1:1");
    }
    int done = 0;
    while (!done) ASSERT_EQ(redisBufferWrite(gone, &done), REDIS_OK);
    conns[1].reset();
  }
  redisContext* quitter = conns[2].get();
  redisAppendCommand(quitter, "SET pipe:quit yes");
  redisAppendCommand(quitter, "QUIT");
  redisAppendCommand(quitter, "SET pipe:after-quit never");
  void* raw = nullptr;
  ASSERT_EQ(redisGetReply(quitter, &raw), REDIS_OK);
  freeReplyObject(raw);
  ASSERT_EQ(redisGetReply(quitter, &raw), REDIS_OK);
  EXPECT_EQ(std::string(static_cast<redisReply*>(raw)->str), "OK");
  freeReplyObject(raw);
  EXPECT_EQ(redisGetReply(quitter, &raw), REDIS_ERR);  // closed after QUIT's reply
  // The others go on as before.
  for (int c = 3; c < kClients; ++c) {
    EXPECT_EQ(Command(conns[c].get(), {"GET", key(c, 0)}), "\"" + value(c, 0) + "r2\"");
  }
  EXPECT_EQ(Command(conns[3].get(), {"EXISTS", "pipe:quit", "pipe:after-quit"}), "(integer) 1");
  conns.clear();
  const int status = server->Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << server->Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server->Log();
}

}  // namespace
}  // namespace beyondkv::testing
