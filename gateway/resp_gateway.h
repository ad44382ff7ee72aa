// kv-resp-gateway: the Redis-protocol front end (architecture §1, §3). Listens on TCP, runs
// `threads` IoLoops sharing one listening socket, and routes every key to its shard.
#ifndef BEYONDKV_GATEWAY_RESP_GATEWAY_H_
#define BEYONDKV_GATEWAY_RESP_GATEWAY_H_

#include "absl/status/status.h"
#include "gateway/gateway_config.h"

namespace beyondkv::gateway {

// Serves until RequestGatewayShutdown(); then stops accepting, closes client connections and
// returns. Errors: Unavailable when the address cannot be bound.
absl::Status RunRespGateway(const GatewayConfig& config);

// Asks RunRespGateway() to return. Call from a normal thread (not a signal handler).
void RequestGatewayShutdown();

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_RESP_GATEWAY_H_
