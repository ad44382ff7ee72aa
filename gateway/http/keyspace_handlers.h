// Handlers of the routes that span every shard: GET /v1/kv (list or count), DELETE /v1/kv
// (flush a namespace) and POST /v1/admin/compact (reclaim).
#ifndef BEYONDKV_GATEWAY_HTTP_KEYSPACE_HANDLERS_H_
#define BEYONDKV_GATEWAY_HTTP_KEYSPACE_HANDLERS_H_

#include <httplib.h>

#include "gateway/http/handler_util.h"

namespace beyondkv::gateway::http {

// Lists keys in lexicographic order (list_pages.h), or with count=1 answers {"count": n}.
void HandleListKeys(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);
// FLUSH to every shard; 204 once all have flushed.
void HandleFlushNamespace(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);
// RECLAIM to every shard (each starts reclaiming all of its namespaces); 204.
void HandleCompact(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_KEYSPACE_HANDLERS_H_
