// beyondkv::Client against a real beyond-kv (4 shards) started by the test: every method,
// compare-and-set, TTL, multi-shard MGet/MSet/Scan, a watch that equals what RESP3 PWATCH
// delivers on the gateway for the same writes, 8 threads at once, causality across shards,
// and fast failure when a shard is down.
#include "sdk/cpp/kv_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/shardlink/router.h"
#include "tests/server_process.h"

namespace beyondkv {
namespace {

using testing::Command;
using testing::ConnectWhenReady;
using testing::FindProcesses;
using testing::PickFreePort;
using testing::RedisConn;
using testing::RunfilePath;
using testing::ServerProcess;
using testing::TempDir;

constexpr uint32_t kShards = 4;

// One beyond-kv for the whole suite; tests keep to their own key prefixes.
class KvClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    port_ = PickFreePort();
    server_ = new ServerProcess(
        RunfilePath("services/beyond-kv/beyond-kv"),
        {"--data-dir=" + tmp_->path() + "/data", "--resp-port=" + std::to_string(port_),
         "--http-port=0", "--threads=" + std::to_string(kShards)},
        tmp_->path() + "/server.log");
    server_->Start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tmp_;
  }

  void SetUp() override {
    resp_ = ConnectWhenReady(port_);  // also: the gateway is up, so every shard serves
    ASSERT_NE(resp_, nullptr) << server_->Log();
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(SocketDir());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  static std::string SocketDir() { return tmp_->path() + "/data/run"; }
  static std::string DataDir() { return tmp_->path() + "/data"; }

  // A key with `prefix` that lives on `shard`.
  static std::string KeyOnShard(const std::string& prefix, uint32_t shard) {
    for (int i = 0;; ++i) {
      std::string key = absl::StrCat(prefix, i);
      if (shardlink::ShardForKey(key, kShards) == shard) return key;
    }
  }

  static TempDir* tmp_;
  static int port_;
  static ServerProcess* server_;
  RedisConn resp_{nullptr, redisFree};
  std::unique_ptr<Client> client_;
};

TempDir* KvClientTest::tmp_ = nullptr;
int KvClientTest::port_ = 0;
ServerProcess* KvClientTest::server_ = nullptr;

TEST_F(KvClientTest, OpenReadsTheShardCountAndChecksItsInput) {
  EXPECT_EQ(client_->shard_count(), kShards);
  EXPECT_EQ(Client::Open("/nonexistent/run").status().code(), absl::StatusCode::kNotFound);
  ClientOptions bad_ns;
  bad_ns.ns = 16;
  EXPECT_EQ(Client::Open(SocketDir(), bad_ns).status().code(),
            absl::StatusCode::kInvalidArgument);
  TempDir empty;  // no MANIFEST beside it
  EXPECT_EQ(Client::Open(empty.path()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(KvClientTest, GetSetDelete) {
  absl::StatusOr<uint64_t> rev = client_->Set("basic:k", "v1");
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, 0u);
  EXPECT_EQ(*rev & 63, shardlink::ShardForKey("basic:k", kShards));  // (tick << 6) | shard

  absl::StatusOr<Entry> entry = client_->Get("basic:k");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->value, "v1");
  EXPECT_EQ(entry->revision, *rev);
  EXPECT_EQ(entry->expire_at_ms, 0);
  // The gateway routes the key to the same shard: redis-cli sees it.
  EXPECT_EQ(Command(resp_.get(), {"GET", "basic:k"}), "\"v1\"");

  EXPECT_EQ(client_->Get("basic:missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*client_->Delete("basic:k"), true);
  EXPECT_EQ(*client_->Delete("basic:k"), false);
  EXPECT_EQ(client_->Get("basic:k").status().code(), absl::StatusCode::kNotFound);

  // Binary-safe keys and values.
  const std::string key("bin:\0\xff", 6), value("\0\r\n\x01", 4);
  ASSERT_TRUE(client_->Set(key, value).ok());
  EXPECT_EQ(client_->Get(key)->value, value);
}

TEST_F(KvClientTest, CompareAndSet) {
  SetOptions if_absent;
  if_absent.if_revision = 0;
  absl::StatusOr<uint64_t> first = client_->Set("cas:k", "a", if_absent);
  ASSERT_TRUE(first.ok()) << first.status();
  // It exists now: "only if absent" conflicts, and nothing is written.
  EXPECT_EQ(client_->Set("cas:k", "b", if_absent).status().code(),
            absl::StatusCode::kFailedPrecondition);

  SetOptions at_first;
  at_first.if_revision = *first;
  absl::StatusOr<uint64_t> second = client_->Set("cas:k", "c", at_first);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_GT(*second, *first);
  // A stale revision: conflict, value unchanged.
  absl::StatusOr<uint64_t> stale = client_->Set("cas:k", "d", at_first);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition) << stale.status();
  EXPECT_EQ(client_->Get("cas:k")->value, "c");
  EXPECT_EQ(client_->Get("cas:k")->revision, *second);
}

TEST_F(KvClientTest, TtlExpires) {
  SetOptions ttl;
  ttl.ttl_ms = 400;
  const int64_t before_ms = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE(client_->Set("ttl:k", "v", ttl).ok());
  absl::StatusOr<Entry> entry = client_->Get("ttl:k");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_GE(entry->expire_at_ms, before_ms + 400);
  EXPECT_LE(entry->expire_at_ms, absl::ToUnixMillis(absl::Now()) + 400);
  const std::string pttl = Command(resp_.get(), {"PTTL", "ttl:k"});
  EXPECT_EQ(pttl.rfind("(integer) ", 0), 0u) << pttl;
  EXPECT_GT(std::stoll(pttl.substr(10)), 0) << pttl;

  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(client_->Get("ttl:k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Command(resp_.get(), {"EXISTS", "ttl:k"}), "(integer) 0");

  // A plain Set drops an expiry.
  ASSERT_TRUE(client_->Set("ttl:k2", "v", ttl).ok());
  ASSERT_TRUE(client_->Set("ttl:k2", "w").ok());
  EXPECT_EQ(client_->Get("ttl:k2")->expire_at_ms, 0);
  EXPECT_EQ(client_->Set("ttl:k3", "v", SetOptions{-1, {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KvClientTest, Incr) {
  EXPECT_EQ(*client_->Incr("incr:n"), 1);
  EXPECT_EQ(*client_->Incr("incr:n", 41), 42);
  EXPECT_EQ(*client_->Incr("incr:n", -50), -8);
  EXPECT_EQ(client_->Get("incr:n")->value, "-8");

  ASSERT_TRUE(client_->Set("incr:text", "abc").ok());
  absl::StatusOr<int64_t> bad = client_->Incr("incr:text");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_EQ(client_->Get("incr:text")->value, "abc");

  ASSERT_TRUE(client_->Set("incr:max", "9223372036854775807").ok());
  EXPECT_EQ(client_->Incr("incr:max").status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(KvClientTest, MSetAndMGetAcrossShards) {
  std::vector<std::pair<std::string, std::string>> kvs;
  std::set<uint32_t> shards;
  for (int i = 0; i < 200; ++i) {
    kvs.emplace_back(absl::StrCat("multi:", i), absl::StrCat("value-", i));
    shards.insert(shardlink::ShardForKey(kvs.back().first, kShards));
  }
  ASSERT_EQ(shards.size(), kShards);
  absl::StatusOr<uint64_t> rev = client_->MSet(kvs);
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, 0u);

  // Any order, absent keys and a key twice.
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> want;
  std::mt19937 rng(7);
  std::vector<int> order(200);
  for (int i = 0; i < 200; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (int i : order) {
    keys.push_back(kvs[i].first);
    want.push_back(kvs[i].second);
    if (i % 10 == 0) {
      keys.push_back(absl::StrCat("multi:absent:", i));
      want.push_back(std::nullopt);
    }
  }
  keys.push_back(kvs[3].first);
  want.push_back(kvs[3].second);
  absl::StatusOr<std::vector<std::optional<std::string>>> got = client_->MGet(keys);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want);
  EXPECT_TRUE(client_->MGet({})->empty());

  // The gateway sees the same data.
  EXPECT_EQ(Command(resp_.get(), {"MGET", "multi:0", "multi:absent:0", "multi:199"}),
            "[\"value-0\", (nil), \"value-199\"]");
  // A key given twice takes its last value.
  ASSERT_TRUE(client_->MSet({{"multi:dup", "1"}, {"multi:dup", "2"}}).ok());
  EXPECT_EQ(client_->Get("multi:dup")->value, "2");
}

TEST_F(KvClientTest, ScanReturnsEveryKeyOnceInOrder) {
  constexpr int kKeys = 3000;
  std::vector<std::pair<std::string, std::string>> kvs;
  std::vector<std::string> want;
  for (int i = 0; i < kKeys; ++i) {
    kvs.emplace_back(absl::StrCat("scan:", i), "x");
    want.push_back(kvs.back().first);
  }
  std::sort(want.begin(), want.end());
  // Neighbours that must not show up.
  kvs.emplace_back("scam:1", "x");
  kvs.emplace_back("scan", "x");
  kvs.emplace_back("scao:1", "x");
  ASSERT_TRUE(client_->MSet(kvs).ok());

  absl::StatusOr<std::vector<std::string>> all = client_->ScanAll("scan:");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, want);

  // Small pages: each key once, in order, pages never over the limit.
  std::vector<std::string> paged;
  std::string after;
  int pages = 0;
  for (;;) {
    absl::StatusOr<ScanPage> page = client_->Scan("scan:", after, 37);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LE(page->keys.size(), 37u);
    paged.insert(paged.end(), page->keys.begin(), page->keys.end());
    ++pages;
    if (!page->more) break;
    after = page->resume_after;
    ASSERT_LT(pages, kKeys) << "no progress";
  }
  EXPECT_EQ(paged, want);
  EXPECT_GE(pages, kKeys / 37);

  EXPECT_TRUE(client_->ScanAll("nothing-here:")->empty());
  EXPECT_EQ(client_->Scan("scan:", "", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(KvClientTest, NamespacesAreSeparate) {
  ClientOptions options;
  options.ns = 7;
  absl::StatusOr<std::unique_ptr<Client>> ns7 = Client::Open(SocketDir(), options);
  ASSERT_TRUE(ns7.ok()) << ns7.status();
  ASSERT_TRUE((*ns7)->Set("ns:k", "seven").ok());
  EXPECT_EQ(client_->Get("ns:k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Command(resp_.get(), {"SELECT", "7"}), "OK");
  EXPECT_EQ(Command(resp_.get(), {"GET", "ns:k"}), "\"seven\"");
  EXPECT_EQ(Command(resp_.get(), {"SELECT", "0"}), "OK");
}

// 8 threads at once, sharing the client: every write visible after, counters exact.
TEST_F(KvClientTest, EightThreads) {
  constexpr int kThreads = 8;
  constexpr int kOpsPerThread = 300;
  const ClientStats before = client_->stats();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerThread; ++i) {
        const std::string key = absl::StrCat("mt:", t, ":", i);
        if (!client_->Set(key, absl::StrCat(t, "/", i)).ok()) ++failures;
        if (!client_->Incr("mt:shared").ok()) ++failures;
        if (!client_->Incr(absl::StrCat("mt:own:", t), 2).ok()) ++failures;
        if (i % 50 == 0 &&
            !client_->MSet({{absl::StrCat("mt:m:", t, ":", i, ":a"), "a"},
                            {absl::StrCat("mt:m:", t, ":", i, ":b"), "b"}}).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  // Calls that met a batch in flight to their shard left together: fewer batches than ops.
  const ClientStats after = client_->stats();
  const uint64_t batches = after.batches_sent - before.batches_sent;
  const uint64_t ops = after.ops_sent - before.ops_sent;
  EXPECT_GE(ops, 3u * kThreads * kOpsPerThread);
  EXPECT_LT(batches, ops) << "no two calls ever shared a batch";
  std::printf("8 threads: %llu ops in %llu batches\n", static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(batches));

  EXPECT_EQ(client_->Get("mt:shared")->value, std::to_string(kThreads * kOpsPerThread));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(client_->Get(absl::StrCat("mt:own:", t))->value,
              std::to_string(2 * kOpsPerThread));
    std::vector<std::string> keys;
    for (int i = 0; i < kOpsPerThread; ++i) keys.push_back(absl::StrCat("mt:", t, ":", i));
    absl::StatusOr<std::vector<std::optional<std::string>>> values = client_->MGet(keys);
    ASSERT_TRUE(values.ok()) << values.status();
    for (int i = 0; i < kOpsPerThread; ++i) {
      ASSERT_EQ((*values)[i], absl::StrCat(t, "/", i)) << keys[i];
    }
  }
  EXPECT_EQ(client_->ScanAll("mt:m:")->size(), 2u * kThreads * (kOpsPerThread / 50));
}

// Causality (ARCHITECTURE.md §6): a shard whose clock ran far ahead (20,000 writes in one
// batch: ~20 s past wall time) does not make a later write on another shard look older, and
// a watch still releases the other shard's events at once (idle shards are nudged).
TEST_F(KvClientTest, CausalAcrossShards) {
  const uint32_t busy = shardlink::ShardForKey("hot", kShards);
  const std::string quiet_key = KeyOnShard("causal:", (busy + 1) % kShards);
  absl::StatusOr<std::unique_ptr<WatchStream>> watch = client_->Watch({"causal:"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  absl::StatusOr<std::optional<WatchEvent>> ready = (*watch)->Next(10000);
  ASSERT_TRUE(ready.ok() && ready->has_value()) << ready.status();
  ASSERT_EQ((*ready)->kind, WatchEvent::Kind::kReady);

  std::vector<std::pair<std::string, std::string>> bulk;
  for (int i = 0; i < 20000; ++i) bulk.emplace_back(absl::StrCat("bulk:{hot}:", i), "x");
  absl::StatusOr<uint64_t> ahead = client_->MSet(bulk);
  ASSERT_TRUE(ahead.ok()) << ahead.status();
  const uint64_t wall_tick =
      static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()) - 1767225600000LL);  // 2026-01-01
  ASSERT_GT(*ahead >> 6, wall_tick + 10000) << "the busy shard's clock did not run ahead";

  // Read after write, across shards: the next write is above everything seen.
  absl::StatusOr<uint64_t> later = client_->Set(quiet_key, "after");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_GT(*later, *ahead);
  absl::StatusOr<Entry> read = client_->Get(quiet_key);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->revision, *later);
  absl::StatusOr<uint64_t> third = client_->Set(KeyOnShard("causal:", (busy + 2) % kShards), "x");
  EXPECT_GT(*third, *later);

  // The watch gets both events in order, well before wall time reaches the busy shard's clock.
  const absl::Time start = absl::Now();
  std::vector<uint64_t> seen;
  while (seen.size() < 2 && absl::Now() - start < absl::Seconds(5)) {
    absl::StatusOr<std::optional<WatchEvent>> e = (*watch)->Next(100);
    ASSERT_TRUE(e.ok()) << e.status();
    if (e->has_value()) seen.push_back((*e)->revision);
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{*later, *third}));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ((*watch)->last_revision(), *third);
}

// A minimal RESP3 reader: Debian 12's hiredis (0.14) speaks RESP2 only and rejects push
// frames, so the reference watcher reads the gateway's bytes itself.
class Resp3Conn {
 public:
  struct Value {
    char type = 0;              // '+', '-', ':', '$', '*', '%', '>', '_', ...
    std::string str;            // simple/bulk/error text, integer digits
    std::vector<Value> elems;   // aggregates (maps flattened key, value, ...)
  };

  explicit Resp3Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Resp3Conn() { close(fd_); }
  bool ok() const { return ok_; }

  void Send(const std::vector<std::string>& argv) {
    std::string out = absl::StrCat("*", argv.size(), "\r\n");
    for (const std::string& a : argv) absl::StrAppend(&out, "$", a.size(), "\r\n", a, "\r\n");
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = write(fd_, out.data() + off, out.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  // The next value, waiting up to timeout_ms; nullopt on timeout or a closed connection.
  std::optional<Value> Read(int timeout_ms) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      size_t pos = 0;
      std::optional<Value> v = Parse(&pos);
      if (v) {
        buf_.erase(0, pos);
        return v;
      }
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count());
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) return std::nullopt;
      char chunk[65536];
      ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  // Parses one value at *pos; nullopt if the buffer holds only part of it.
  std::optional<Value> Parse(size_t* pos) {
    size_t eol = buf_.find("\r\n", *pos);
    if (eol == std::string::npos) return std::nullopt;
    Value v;
    v.type = buf_[*pos];
    const std::string line = buf_.substr(*pos + 1, eol - *pos - 1);
    *pos = eol + 2;
    switch (v.type) {
      case '$':
      case '=':
      case '!': {
        const long long len = std::stoll(line);
        if (len < 0) {
          v.type = '_';
          return v;
        }
        if (buf_.size() < *pos + len + 2) return std::nullopt;
        v.str = buf_.substr(*pos, static_cast<size_t>(len));
        *pos += static_cast<size_t>(len) + 2;
        return v;
      }
      case '*':
      case '>':
      case '~':
      case '%':
      case '|': {
        long long n = std::stoll(line);
        if (n < 0) {
          v.type = '_';
          return v;
        }
        if (v.type == '%' || v.type == '|') n *= 2;
        for (long long i = 0; i < n; ++i) {
          std::optional<Value> e = Parse(pos);
          if (!e) return std::nullopt;
          v.elems.push_back(std::move(*e));
        }
        if (v.type == '|') return Parse(pos);  // an attribute precedes the real value
        return v;
      }
      default:  // + - : _ # , (
        v.str = line;
        return v;
    }
  }

  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

// What both watchers compare: (kind, key, value, revision).
using Seen = std::tuple<std::string, std::string, std::string, uint64_t>;

std::string KindName(WatchEvent::Kind kind) {
  switch (kind) {
    case WatchEvent::Kind::kSet:
      return "set";
    case WatchEvent::Kind::kDelete:
      return "del";
    case WatchEvent::Kind::kFlush:
      return "flush";
    case WatchEvent::Kind::kReady:
      return "ready";
  }
  return "?";
}

// The client's watch and RESP3 `PWATCH prefix SINCE r` on the gateway receive the same
// sequence for the same writes: replayed ones (made before either watch opened) and live
// ones, across every shard, including deletes, an expiry, counters and an MSet.
TEST_F(KvClientTest, WatchEqualsGatewayPwatch) {
  const std::string p = "wq:";
  absl::StatusOr<uint64_t> since = client_->Set("wq-outside", "before");  // not under p
  ASSERT_TRUE(since.ok());

  // Replayed part.
  for (uint32_t s = 0; s < kShards; ++s) {
    ASSERT_TRUE(client_->Set(KeyOnShard(p + "a", s), absl::StrCat("one-", s)).ok());
  }
  ASSERT_TRUE(client_->Set(KeyOnShard(p + "a", 1), "two").ok());
  ASSERT_TRUE(client_->Delete(KeyOnShard(p + "a", 2)).ok());
  ASSERT_TRUE(client_->Incr(p + "n").ok());
  ASSERT_TRUE(client_->Set("wq-outside", "ignored").ok());

  // Both watchers, same prefix, same since.
  absl::StatusOr<std::unique_ptr<WatchStream>> watch = client_->Watch({p}, *since);
  ASSERT_TRUE(watch.ok()) << watch.status();
  Resp3Conn reference(port_);
  ASSERT_TRUE(reference.ok());
  reference.Send({"HELLO", "3"});
  std::optional<Resp3Conn::Value> hello = reference.Read(5000);
  ASSERT_TRUE(hello && hello->type == '%');
  reference.Send({"PWATCH", p, "SINCE", std::to_string(*since)});

  // Live part (some of it may still count as replay: both see it once either way).
  std::vector<std::pair<std::string, std::string>> kvs;
  for (int i = 0; i < 12; ++i) kvs.emplace_back(absl::StrCat(p, "m", i), absl::StrCat(i));
  ASSERT_TRUE(client_->MSet(kvs).ok());
  SetOptions ttl;
  ttl.ttl_ms = 100;
  ASSERT_TRUE(client_->Set(p + "ttl", "short", ttl).ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client_->Set(KeyOnShard(p + "b", i % kShards), absl::StrCat("live-", i)).ok());
  }
  ASSERT_TRUE(client_->Incr(p + "n", 5).ok());
  ASSERT_TRUE(client_->Delete(KeyOnShard(p + "a", 3)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(client_->Get(p + "ttl").status().code(), absl::StatusCode::kNotFound);  // expires
  absl::StatusOr<uint64_t> last = client_->Set(p + "zz-last", "end");
  ASSERT_TRUE(last.ok());

  // Collect both until the last write and "ready" have arrived. On a slow machine (ASan) the
  // replay can still be running at the last write: everything then arrives as replay and
  // "ready" after it (it must still come once).
  std::vector<Seen> mine, theirs;
  int my_ready = 0, their_ready = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while ((mine.empty() || std::get<3>(mine.back()) != *last || my_ready == 0) &&
         absl::Now() < deadline) {
    absl::StatusOr<std::optional<WatchEvent>> e = (*watch)->Next(200);
    ASSERT_TRUE(e.ok()) << e.status();
    if (!e->has_value()) continue;
    const WatchEvent& ev = **e;
    if (ev.kind == WatchEvent::Kind::kReady) {
      ++my_ready;
      continue;
    }
    mine.emplace_back(KindName(ev.kind), ev.key, ev.value, ev.revision);
  }
  while ((theirs.empty() || std::get<3>(theirs.back()) != *last || their_ready == 0) &&
         absl::Now() < deadline) {
    std::optional<Resp3Conn::Value> v = reference.Read(200);
    if (!v) continue;
    ASSERT_EQ(v->type, '>') << "not a push frame: " << v->str;
    ASSERT_GE(v->elems.size(), 2u);
    ASSERT_EQ(v->elems[0].str, "watch");
    if (v->elems[1].str == "ready") {
      ++their_ready;
      continue;
    }
    ASSERT_EQ(v->elems.size(), 5u);
    theirs.emplace_back(v->elems[1].str, v->elems[2].str, v->elems[3].str,
                        std::stoull(v->elems[4].str));
  }
  ASSERT_FALSE(mine.empty());
  EXPECT_EQ(std::get<3>(mine.back()), *last);
  EXPECT_EQ(mine, theirs);
  EXPECT_EQ(my_ready, 1);
  EXPECT_EQ(their_ready, 1);
  // Ordered, and everything expected is there.
  for (size_t i = 1; i < mine.size(); ++i) {
    EXPECT_LT(std::get<3>(mine[i - 1]), std::get<3>(mine[i]));
  }
  EXPECT_EQ(mine.size(), kShards + 1 + 1 + 1 + 12 + 1 + 1 + 20 + 1 + 1 + 1) << "events";
  // The expiry is a delete with its own revision (by the sweep or the Get, whichever came
  // first), after the key's set.
  auto is_ttl = [&](const std::string& kind) {
    return [&, kind](const Seen& s) { return std::get<0>(s) == kind && std::get<1>(s) == p + "ttl"; };
  };
  auto set_at = std::find_if(mine.begin(), mine.end(), is_ttl("set"));
  auto del_at = std::find_if(mine.begin(), mine.end(), is_ttl("del"));
  EXPECT_TRUE(set_at != mine.end() && del_at != mine.end() && set_at < del_at);
  EXPECT_EQ(std::count_if(mine.begin(), mine.end(), is_ttl("del")), 1);

  // Cancel wakes a blocked Next from another thread and ends the stream.
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*watch)->Cancel();
  });
  const absl::Time before = absl::Now();
  absl::StatusOr<std::optional<WatchEvent>> end = (*watch)->Next(10000);
  canceller.join();
  EXPECT_EQ(end.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
}

TEST_F(KvClientTest, WatchWithoutSinceStartsLiveAndOutlivesItsClient) {
  EXPECT_EQ(client_->Watch({}).status().code(), absl::StatusCode::kInvalidArgument);
  // Without since: ready, then only live changes.
  absl::StatusOr<std::unique_ptr<WatchStream>> watch = client_->Watch({"wl:"});
  ASSERT_TRUE(watch.ok());
  absl::StatusOr<std::optional<WatchEvent>> ready = (*watch)->Next(10000);
  ASSERT_TRUE(ready.ok() && ready->has_value()) << ready.status();
  EXPECT_EQ((*ready)->kind, WatchEvent::Kind::kReady);
  absl::StatusOr<std::optional<WatchEvent>> none = (*watch)->Next(50);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(client_->Set("wl:x", "1").ok());
  absl::StatusOr<std::optional<WatchEvent>> live = (*watch)->Next(10000);
  ASSERT_TRUE(live.ok() && live->has_value()) << live.status();
  EXPECT_EQ((*live)->key, "wl:x");
  EXPECT_EQ((*live)->value, "1");

  // A stream keeps working after the client that opened it is gone.
  absl::StatusOr<std::unique_ptr<Client>> other = Client::Open(SocketDir());
  ASSERT_TRUE(other.ok());
  absl::StatusOr<std::unique_ptr<WatchStream>> orphan = (*other)->Watch({"wl:"});
  ASSERT_TRUE(orphan.ok());
  other->reset();
  absl::StatusOr<std::optional<WatchEvent>> orphan_ready = (*orphan)->Next(10000);
  ASSERT_TRUE(orphan_ready.ok() && orphan_ready->has_value()) << orphan_ready.status();
  ASSERT_TRUE(client_->Set("wl:y", "2").ok());
  absl::StatusOr<std::optional<WatchEvent>> orphan_live = (*orphan)->Next(10000);
  ASSERT_TRUE(orphan_live.ok() && orphan_live->has_value()) << orphan_live.status();
  EXPECT_EQ((*orphan_live)->key, "wl:y");
}

// Down shards fail fast with Unavailable; nothing hangs.
TEST_F(KvClientTest, UnavailableShardFailsFast) {
  TempDir nowhere;  // no shard listens here
  ClientOptions options;
  options.shard_count = 2;
  absl::StatusOr<std::unique_ptr<Client>> orphan = Client::Open(nowhere.path(), options);
  ASSERT_TRUE(orphan.ok()) << orphan.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<Entry> r = (*orphan)->Get("k");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ((*orphan)->MGet({"a", "b", "c"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*orphan)->Set("k", "v").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  absl::StatusOr<std::unique_ptr<WatchStream>> watch = (*orphan)->Watch({""});
  ASSERT_TRUE(watch.ok());
  absl::StatusOr<std::optional<WatchEvent>> e = (*watch)->Next(5000);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kUnavailable) << e.status();
}

// Whether every thread of `pid` reaches state T (stopped) within 5 s.
bool WaitAllThreadsStopped(pid_t pid) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    bool all = true;
    const std::string tasks = absl::StrCat("/proc/", pid, "/task");
    for (const auto& entry : std::filesystem::directory_iterator(tasks)) {
      std::ifstream in(entry.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t paren = stat.rfind(')');  // "pid (comm) S ...": comm may hold spaces
      if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'T') {
        all = false;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// A shard that stops answering (SIGSTOP): calls end with DeadlineExceeded after timeout_ms,
// including those queued behind the stuck batch and those that found the queue full.
TEST_F(KvClientTest, ZyStoppedShardTimesOut) {
  const uint32_t victim = 2;
  const std::string key = KeyOnShard("stop:", victim);
  ClientOptions options;
  options.timeout_ms = 300;
  options.max_queued_items = 1;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(SocketDir(), options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Set(key, "v").ok());
  std::vector<pid_t> pids =
      FindProcesses({"kv-shard", DataDir(), absl::StrCat("--shard-id=", victim, " ")});
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
  // kill() returns before every thread has stopped (a shard answered a request 1 ms after it
  // on this busy machine): wait until /proc says each one has.
  ASSERT_TRUE(WaitAllThreadsStopped(pids[0])) << "shard " << victim << " did not stop";

  const absl::Time start = absl::Now();
  std::vector<absl::Status> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = (*client)->Get(key).status(); });
  }
  for (std::thread& t : threads) t.join();
  const absl::Duration took = absl::Now() - start;
  kill(pids[0], SIGCONT);
  for (const absl::Status& s : results) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  }
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(2));
  // Once it runs again, it answers.
  absl::StatusOr<Entry> again = (*client)->Get(key);
  for (int i = 0; i < 50 && !again.ok(); ++i) again = (*client)->Get(key);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->value, "v");
}

// Runs last: SIGKILL of a shard. Calls for it answer at once (Unavailable while it is down,
// served again once the supervisor restarted it); the other shards keep serving.
TEST_F(KvClientTest, ZzKilledShardFailsFastThenServesAgain) {
  const uint32_t victim = 1;
  const std::string key = KeyOnShard("kill:", victim);
  const std::string other = KeyOnShard("kill:", 0);
  ASSERT_TRUE(client_->Set(key, "v").ok());
  std::vector<pid_t> pids =
      FindProcesses({"kv-shard", DataDir(), absl::StrCat("--shard-id=", victim, " ")});
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);

  bool unavailable_seen = false, served_again = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!served_again && absl::Now() < deadline) {
    const absl::Time before = absl::Now();
    absl::StatusOr<Entry> r = client_->Get(key);
    ASSERT_LT(absl::Now() - before, absl::Seconds(1)) << "a call hung: " << r.status();
    if (r.ok()) {
      served_again = unavailable_seen;
      EXPECT_EQ(r->value, "v");
    } else {
      ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
      unavailable_seen = true;
      absl::StatusOr<uint64_t> elsewhere = client_->Set(other, "x");
      EXPECT_TRUE(elsewhere.ok()) << "another shard stopped serving: " << elsewhere.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(unavailable_seen);
  EXPECT_TRUE(served_again);
  EXPECT_EQ(client_->Get(key)->value, "v");
}

}  // namespace
}  // namespace beyondkv
