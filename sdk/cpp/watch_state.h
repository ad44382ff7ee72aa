// The inside of a beyondkv::WatchStream (watch_stream.h): a shardlink::WatchSession fed by
// the shards' Watch streams, and the inbox through which gRPC threads hand it their events.
#ifndef BEYONDKV_SDK_CPP_WATCH_STATE_H_
#define BEYONDKV_SDK_CPP_WATCH_STATE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "proto/shard.pb.h"

namespace beyondkv::sdk {

class ClientCore;
struct WatchState;

// Opens one Watch stream per shard of `shards` with requests[i] for shards[i]; the session
// keeps `core` (the shards' gRPC clients) alive.
std::shared_ptr<WatchState> StartWatch(std::shared_ptr<ClientCore> core,
                                       std::vector<uint32_t> shards,
                                       std::vector<v1::WatchRequest> requests);

}  // namespace beyondkv::sdk

#endif  // BEYONDKV_SDK_CPP_WATCH_STATE_H_
