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
#include "absl/synchronization/notification.h"
#include "gateway/http/http_config.h"
#include "gateway/http/metrics.h"
#include "gateway/http/shard_hop.h"

namespace beyondkv::gateway::http {

class HttpGateway {
 public:
  explicit HttpGateway(HttpConfig config);
  ~HttpGateway();

  // Binds, then serves until `stop` is notified (e.g. by the signal thread), then lets
  // in-flight requests finish and closes idle keep-alive connections. Returns an error if it
  // cannot listen, or if the server stops on its own.
  absl::Status Run(const absl::Notification& stop);

 private:
  void Install();
  void Dispatch(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader* reader);
  // Whether `req` may proceed: no token configured, a health route, or the right token.
  bool Authorized(const httplib::Request& req) const;
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res);
  void ServeReadyz(httplib::Response& res);
  void ServeMetrics(httplib::Response& res);

  const HttpConfig config_;
  absl::Mutex mu_;
  bool listener_exited_ ABSL_GUARDED_BY(mu_) = false;
  HttpMetrics metrics_;
  std::unique_ptr<ShardHop> shards_;
  httplib::Server server_;
};

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_
