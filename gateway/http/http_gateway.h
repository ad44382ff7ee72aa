// kv-http-gateway's server: the Beyond KV HTTP API (docs/openapi.json) on cpp-httplib,
// routed to the shards through a ShardHop. Also /livez, /readyz and /metrics.
//
// Connections are accepted, and each request's head read, by a ConnectionGate
// (connection_gate.h: slow or idle clients hold no thread; 408 / 431 / 503). A request whose
// head arrived is served by a pool of worker threads, one request per thread at a time; a
// handler blocks its thread until the shards answer; between requests a keep-alive connection
// goes back to the gate. Before any handler runs, a pre-routing step matches the route on the
// raw target (404/405), checks the bearer token (401), and refuses an announced body over the
// limit (413) without reading it.
#ifndef BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_
#define BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_

#include <httplib.h>

#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gateway/http/connection_gate.h"
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
  // cpp-httplib's Server, fed one request at a time from our own connections.
  class GateServer : public httplib::Server {
   public:
    bool ServeRequest(httplib::Stream& strm, bool close_connection, bool& connection_closed) {
      return process_request(strm, close_connection, connection_closed, nullptr);
    }
    // Chunked responses (SSE) stream while this is a valid socket, and end once it is not.
    void SetServing(int fd) { svr_sock_ = fd; }
  };

  void Install();
  // Serves the next request of `conn` on this worker thread, then hands the connection back
  // to the gate or closes it.
  void ServeConnection(std::unique_ptr<GateConnection> conn);
  void Dispatch(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader* reader);
  // Whether `req` may proceed: no token configured, a health route, or the right token.
  bool Authorized(const httplib::Request& req) const;
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res);
  void ServeReadyz(httplib::Response& res);
  void ServeMetrics(httplib::Response& res);

  const HttpConfig config_;
  HttpMetrics metrics_;
  std::unique_ptr<ShardHop> shards_;
  GateServer server_;
  ConnectionGate* gate_ = nullptr;  // set while Run() serves
  std::atomic<bool> stopping_{false};
};

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_HTTP_GATEWAY_H_
