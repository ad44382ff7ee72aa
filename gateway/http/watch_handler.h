// The SSE watch routes: GET /v1/watch/{key} and GET /v1/watch?prefix=p (docs/http.md, "SSE
// watch"; wire-protocol.md). One shardlink::WatchSession (gateway/shardlink/watch_session.h) per request, merged
// across shards in revision order exactly as RESP WATCH / PWATCH deliver it, written as
// text/event-stream:
//
//   id: <revision>                                      (set, del and flush events)
//   data: {"type":"set","key":"k","value":"<base64url>","revision":n,"ttl"?,"ttl_ms"?,
//          "metadata"?,"key_base64url"?}
//
//   data: {"type":"del","key":"k","revision":n}
//   data: {"type":"flush","revision":n}                 (replayed FLUSH of the namespace)
//   data: {"type":"ready"}                              (once; no id)
//   : heartbeat                                         (after HttpConfig::sse_heartbeat_ms idle)
//   event: error / data: {"error":{"code","message"}}   (then the stream ends)
//
// Resuming: `Last-Event-ID` (what EventSource sends on reconnect, with the original URL)
// takes precedence over `?since=`; either replays every change after that revision.
//
// Thread contract: the whole request, the shardlink::WatchSession included, lives on the cpp-httplib
// worker thread that serves it (the session's owner thread); gRPC threads only queue events
// for it, bounded by HttpConfig::sse_max_buffer_bytes.
#ifndef BEYONDKV_GATEWAY_HTTP_WATCH_HANDLER_H_
#define BEYONDKV_GATEWAY_HTTP_WATCH_HANDLER_H_

#include <httplib.h>

#include <string>

#include "gateway/http/handler_util.h"
#include "gateway/http/metrics.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway::http {

// Serves kWatchKey / kWatchPrefix on the calling worker thread. Errors found before the
// stream starts (bad parameters, SINCE below the replay floor: 410, a shard down: 503, too many
// streams open: 503) are JSON error responses; later ones end the stream with `event: error`.
// Returns once the response is set up; the stream itself is written by cpp-httplib through a
// chunked content provider, on the same thread, until the client goes or the stream ends.
void HandleWatch(const HandlerEnv& env, const ApiCall& call, HttpMetrics& metrics,
                 httplib::Response& res);

// The SSE frame of one released event ("id: ...\ndata: {...}\n\n"); `now_ms` is for `ttl`.
std::string EncodeSseEvent(const v1::WatchEvent& event, int64_t now_ms);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_WATCH_HANDLER_H_
