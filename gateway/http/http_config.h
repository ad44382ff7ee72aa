// Settings of a kv-http-gateway process (set from flags in main.cc).
#ifndef BEYONDKV_GATEWAY_HTTP_HTTP_CONFIG_H_
#define BEYONDKV_GATEWAY_HTTP_HTTP_CONFIG_H_

#include <cstdint>
#include <string>

namespace beyondkv::gateway::http {

struct HttpConfig {
  std::string bind = "127.0.0.1";
  uint16_t port = 4869;
  std::string socket_dir;    // shard i listens on <socket_dir>/shard-<i>.sock
  uint32_t shard_count = 1;  // S
  // Worker threads: requests served at once (a request whose head arrived waits for a free
  // one; idle and slow connections wait in the ConnectionGate, holding no thread).
  uint32_t threads = 128;
  // Largest request body (a PUT value or a whole batch), bytes; larger answers 413.
  uint64_t max_value_bytes = 64ull << 20;
  // An idle keep-alive connection is closed after this many seconds (0 = 5 s, httplib's
  // default: a thread per connection must not be held forever).
  uint64_t idle_timeout_secs = 0;
  // Connections open at once (waiting for a request or being served); one more is answered
  // 503 and closed (connection_gate.h).
  uint64_t max_conns = 10000;
  // A request's line and headers must arrive within this many seconds of their first byte
  // (else 408); slow clients never hold a worker thread meanwhile.
  uint64_t header_timeout_secs = 10;
  // When non-empty, every route but /livez and /readyz needs `Authorization: Bearer <token>`.
  std::string token;
  // With --shard-transport grpc: Execute calls in flight per shard before further ops wait
  // and are coalesced into the next call (see ShardHop). 1, as the RESP gateway does per I/O thread, gave the most
  // throughput on 2 cores (docs/http.md); more lets a small request overtake a large value.
  uint32_t max_inflight_per_shard = 1;
  // How ops reach the shards: "link" (the default) or "grpc" (ShardHop).
  std::string shard_transport = "link";
  // SSE watch (GET /v1/watch...): a `: heartbeat` comment is sent after this many ms without
  // any other write, so proxies and clients see the stream alive.
  uint64_t sse_heartbeat_ms = 15000;
  // Watch streams open at once; each holds a worker thread for its whole life. 0 = half of
  // `threads` (at least 1), so watchers cannot starve the REST routes. Beyond it: 503.
  uint32_t max_sse_streams = 0;
  // A watch stream whose client reads too slowly is cut off (an `event: error`, then the end
  // of the stream) once this many bytes of events wait for it in the gateway.
  uint64_t sse_max_buffer_bytes = 16ull << 20;
};

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_HTTP_CONFIG_H_
