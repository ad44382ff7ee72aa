// Settings of a kv-resp-gateway process (set from flags in main.cc).
#ifndef BEYONDKV_GATEWAY_GATEWAY_CONFIG_H_
#define BEYONDKV_GATEWAY_GATEWAY_CONFIG_H_

#include <cstdint>
#include <string>

#include "common/idle_poll.h"
#include "gateway/output_budget.h"

namespace beyondkv::gateway {

struct GatewayConfig {
  std::string bind = "127.0.0.1";
  uint16_t port = 6379;
  std::string socket_dir;        // shard i listens on <socket_dir>/shard-<i>.sock
  uint32_t shard_count = 1;      // S
  uint32_t threads = 1;          // I/O threads (event loops)
  uint64_t max_value_bytes = 64ull << 20;
  uint64_t max_conns = 10000;    // total open client connections
  uint64_t idle_timeout_secs = 0;  // 0 = never close idle clients
  // A client with more unwritten output than this is disconnected (Redis's
  // client-output-buffer-limit, hard limit); 0 = no limit. See gateway/output_budget.h.
  uint64_t client_output_buffer_limit_bytes = OutputBudget::kDefaultHardLimit;
  std::string requirepass;       // empty = no AUTH required
  std::string fsync = "everysec";  // reported by CONFIG GET appendfsync
  // How batches reach the shards: "link" (framed batches on shard-<i>.link, read and written
  // by each I/O thread itself; the default) or "grpc" (Execute calls on shard-<i>.sock).
  std::string shard_transport = "link";
  // Client socket reads and writes of one loop iteration: "batched" (one io_uring submission
  // for all the connections found readable, one for all the replies; common/socket_batch.h)
  // or "syscalls" (a read() and a write() per connection). "batched" falls back to
  // "syscalls" where io_uring is unavailable.
  std::string socket_io = "batched";
  // The longest an I/O loop polls for events before it sleeps in epoll_wait, in µs
  // (adaptive, yielding the CPU between checks: common/idle_poll.h); 0 = never.
  int64_t idle_poll_us = IdlePoll::kDefaultMaxUs;
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_GATEWAY_CONFIG_H_
