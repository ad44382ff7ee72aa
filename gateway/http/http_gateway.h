// kv-http-gateway's server: the Beyond KV HTTP API (docs/openapi.json) on cpp-httplib,
// routed to the shards through a ShardHop. Also /livez, /readyz and /metrics.
//
// Requests are served by a pool of worker threads, one connection per thread at a time; a
// handler blocks its thread until the shards answer. Before any handler runs, a pre-routing
// step matches the route on the raw target (404/405), checks the bearer token (401), and
// refuses an announced body over the limit (413) without reading it.
#ifndef BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_
#define BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_

#include <httplib.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gateway/http/http_config.h"
#include "gateway/http/metrics.h"
#include "gateway/http/shard_hop.h"

namespace beyondkv::gateway::http {

class HttpGateway {
 public:
  explicit HttpGateway(HttpConfig config);
  ~HttpGateway();

  // Binds, then serves until Stop(). Returns an error if it cannot listen.
  absl::Status Run();

  // Makes Run() return after in-flight requests finish; idle keep-alive connections are
  // closed. May be called from any thread (e.g. a signal-waiting one), before or during Run.
  void Stop();

 private:
  void Install();
  void Dispatch(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader* reader);
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res);
  void ServeReadyz(httplib::Response& res);
  void ServeMetrics(httplib::Response& res);

  const HttpConfig config_;
  absl::Mutex mu_;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool listener_exited_ ABSL_GUARDED_BY(mu_) = false;
  bool listener_failed_ ABSL_GUARDED_BY(mu_) = false;
  HttpMetrics metrics_;
  std::unique_ptr<ShardHop> shards_;
  httplib::Server server_;
};

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_
