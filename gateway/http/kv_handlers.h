// Handlers of the single-key routes: GET, HEAD, PUT, DELETE and PATCH /v1/kv/{key}, and
// POST /v1/kv/{key}/incr. Each turns the request into one shard op on the key's shard and
// the op's result into the contract's status, headers and body (docs/http.md has the table).
#ifndef BEYONDKV_GATEWAY_HTTP_KV_HANDLERS_H_
#define BEYONDKV_GATEWAY_HTTP_KV_HANDLERS_H_

#include <httplib.h>

#include "gateway/http/handler_util.h"

namespace beyondkv::gateway::http {

void HandleGetValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);
void HandleHeadValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);
void HandlePutValue(const HandlerEnv& env, ApiCall& call, httplib::Response& res);
void HandleDeleteValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);
void HandlePatchTtl(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);
void HandleIncrementValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_KV_HANDLERS_H_
