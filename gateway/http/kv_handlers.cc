#include "gateway/http/kv_handlers.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/http/api_error.h"

namespace beyondkv::gateway::http {
namespace {

using v1::Op;
using v1::OpResult;

constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

// Runs one op on its key's shard. On a hop failure writes the error and returns nullopt.
std::optional<OpResult> RunOne(const HandlerEnv& env, Op op, httplib::Response& res) {
  const uint32_t shard = env.shards.ShardOf(op.key());
  std::vector<Op> ops;
  ops.push_back(std::move(op));
  ShardResults results = env.shards.Execute(shard, std::move(ops));
  if (!results.ok()) {
    WriteError(res, FromStatus(results.status()));
    return std::nullopt;
  }
  return std::move((*results)[0]);
}

// Reads ?ns= after checking the query's parameter names; writes a 400 and returns nullopt on
// a bad query.
std::optional<uint32_t> CheckQuery(const ApiCall& call,
                                   std::initializer_list<std::string_view> allowed,
                                   httplib::Response& res) {
  if (absl::Status s = call.query.CheckAllowed(allowed); !s.ok()) {
    WriteError(res, FromStatus(s));
    return std::nullopt;
  }
  absl::StatusOr<uint32_t> ns = Namespace(call.query);
  if (!ns.ok()) {
    WriteError(res, FromStatus(ns.status()));
    return std::nullopt;
  }
  return *ns;
}

void GetOrHead(const HandlerEnv& env, const ApiCall& call, httplib::Response& res, bool head) {
  std::optional<uint32_t> ns = CheckQuery(call, {"ns"}, res);
  if (!ns) return;
  Op op = KeyOp(Op::GET, *ns, call.match.key);
  op.set_no_value(head);
  std::optional<OpResult> r = RunOne(env, std::move(op), res);
  if (!r) return;
  if (r->code() == OpResult::NOT_FOUND) {
    WriteError(res, NotFound(absl::StrCat("key ", QuoteKey(call.match.key), " not found")));
    return;
  }
  if (r->code() != OpResult::OK) {
    WriteError(res, FromOpResult(*r, ""));
    return;
  }
  res.status = 200;
  SetEntryHeaders(res, r->revision(), r->expire_at_ms(), r->metadata(), NowMs());
  if (head) {
    res.set_header("Content-Type", kOctetStream);
  } else {
    res.set_content(std::move(*r->mutable_value()), kOctetStream);
  }
}

// The 200 of a Return-Old / Return-Value response: the entry's bytes and headers.
void WriteOldEntry(OpResult& r, uint64_t revision, httplib::Response& res) {
  res.status = 200;
  SetEntryHeaders(res, revision, r.expire_at_ms(), r.metadata(), NowMs());
  res.set_content(std::move(*r.mutable_value()), kOctetStream);
}

}  // namespace

void HandleGetValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  GetOrHead(env, call, res, /*head=*/false);
}

void HandleHeadValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  GetOrHead(env, call, res, /*head=*/true);
}

void HandlePutValue(const HandlerEnv& env, ApiCall& call, httplib::Response& res) {
  std::optional<uint32_t> ns = CheckQuery(call, {"ns", "nx", "xx", "ttl", "ttl_ms"}, res);
  if (!ns) return;
  const httplib::Request& req = call.req;
  absl::StatusOr<bool> nx = call.query.GetFlag("nx");
  absl::StatusOr<bool> xx = call.query.GetFlag("xx");
  absl::StatusOr<std::optional<int64_t>> ttl_q = call.query.GetOptionalInt("ttl", 0, kMaxSeconds);
  absl::StatusOr<std::optional<int64_t>> ttl_ms_q = call.query.GetOptionalInt("ttl_ms", 0, kMaxInt);
  absl::StatusOr<std::optional<int64_t>> ttl_h = HeaderInt(req, kTtlHeader, 0, kMaxSeconds);
  absl::StatusOr<std::optional<int64_t>> ttl_ms_h = HeaderInt(req, kTtlMsHeader, 0, kMaxInt);
  absl::StatusOr<std::optional<uint64_t>> if_match = IfMatch(req);
  for (const absl::Status& s : {nx.status(), xx.status(), ttl_q.status(), ttl_ms_q.status(),
                                ttl_h.status(), ttl_ms_h.status(), if_match.status()}) {
    if (!s.ok()) return WriteError(res, FromStatus(s));
  }
  const bool keep_ttl = HeaderFlag(req, kKeepTtlHeader);
  const bool return_old = HeaderFlag(req, kReturnOldHeader);
  std::optional<std::string> metadata = Header(req, kMetadataHeader);

  // TTL: a header wins over the query; within each, seconds and ms exclude each other.
  if ((*ttl_q && *ttl_ms_q) || (*ttl_h && *ttl_ms_h)) {
    return WriteError(res, InvalidRequest("give the TTL in seconds or in ms, not both"));
  }
  std::optional<int64_t> ttl_ms;
  if (*ttl_h || *ttl_ms_h) {
    ttl_ms = *ttl_h ? **ttl_h * 1000 : **ttl_ms_h;
  } else if (*ttl_q || *ttl_ms_q) {
    ttl_ms = *ttl_q ? **ttl_q * 1000 : **ttl_ms_q;
  }
  const int conditions = (*nx ? 1 : 0) + (*xx ? 1 : 0) + (*if_match ? 1 : 0);
  if (conditions > 1) {
    return WriteError(res, InvalidRequest("nx, xx and If-Match exclude each other"));
  }
  if (keep_ttl && ttl_ms) {
    return WriteError(res, InvalidRequest("X-KV-KeepTTL excludes a TTL (ttl, X-KV-TTL)"));
  }
  if (return_old && (conditions > 0 || keep_ttl)) {
    return WriteError(res,
                      InvalidRequest("X-KV-Return-Old excludes nx, xx, If-Match and X-KV-KeepTTL"));
  }
  if (metadata) {
    if (absl::Status s = ValidateMetadata(*metadata); !s.ok()) {
      return WriteError(res, FromStatus(s));
    }
  }

  Op op = KeyOp(Op::PUT, *ns, call.match.key);
  op.set_value(std::move(call.body));
  // A TTL of 0 means "no expiry", as if none was given: a client that always sends its TTL
  // field must not have its keys expire at once.
  if (ttl_ms && *ttl_ms > 0) {
    absl::StatusOr<int64_t> at = ExpiryMs(*ttl_ms, 1, false, NowMs());
    if (!at.ok()) return WriteError(res, FromStatus(at.status()));
    op.set_expire_at_ms(*at);
  }
  op.set_keep_ttl(keep_ttl);
  op.set_return_old(return_old);
  if (metadata) op.set_metadata(*metadata);
  std::string conflict;
  if (*nx) {
    op.set_condition(Op::IF_ABSENT);
    conflict = "key already exists (nx)";
  } else if (*xx) {
    op.set_condition(Op::IF_PRESENT);
    conflict = "key does not exist (xx)";
  } else if (*if_match) {
    op.set_condition(Op::IF_REVISION);
    op.set_if_revision(**if_match);
    conflict = absl::StrCat("revision mismatch: the key's revision is not ", **if_match);
  }

  std::optional<OpResult> r = RunOne(env, std::move(op), res);
  if (!r) return;
  if (r->code() != OpResult::OK) return WriteError(res, FromOpResult(*r, conflict));
  if (return_old && r->has_old()) return WriteOldEntry(*r, r->old_revision(), res);
  res.status = 204;
  res.set_header(kRevisionHeader, std::to_string(r->revision()));
}

void HandleDeleteValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  std::optional<uint32_t> ns = CheckQuery(call, {"ns"}, res);
  if (!ns) return;
  absl::StatusOr<std::optional<uint64_t>> if_match = IfMatch(call.req);
  if (!if_match.ok()) return WriteError(res, FromStatus(if_match.status()));
  const bool return_old = HeaderFlag(call.req, kReturnOldHeader);
  if (return_old && *if_match) {
    return WriteError(res, InvalidRequest("X-KV-Return-Old excludes If-Match"));
  }
  Op op = KeyOp(Op::DELETE, *ns, call.match.key);
  op.set_return_old(return_old);
  std::string conflict;
  if (*if_match) {
    op.set_condition(Op::IF_REVISION);
    op.set_if_revision(**if_match);
    conflict = absl::StrCat("revision mismatch: the key's revision is not ", **if_match);
  }
  std::optional<OpResult> r = RunOne(env, std::move(op), res);
  if (!r) return;
  if (r->code() != OpResult::OK && r->code() != OpResult::NOT_FOUND) {
    return WriteError(res, FromOpResult(*r, conflict));
  }
  if (return_old && r->code() == OpResult::OK && r->has_old()) {
    return WriteOldEntry(*r, r->old_revision(), res);
  }
  res.status = 204;
}

void HandlePatchTtl(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  std::optional<uint32_t> ns =
      CheckQuery(call, {"ns", "ttl", "ttl_ms", "ttl_at", "ttl_at_ms", "persist"}, res);
  if (!ns) return;
  const QueryParams& q = call.query;
  int given = 0;
  for (const char* name : {"ttl", "ttl_ms", "ttl_at", "ttl_at_ms", "persist"}) {
    given += q.Has(name) ? 1 : 0;
  }
  if (given != 1) {
    return WriteError(
        res, InvalidRequest("give exactly one of ttl, ttl_ms, ttl_at, ttl_at_ms, persist=1"));
  }
  const int64_t now = NowMs();
  int64_t expire_at_ms = 0;  // persist
  if (q.Has("persist")) {
    if (q.Get("persist") != "1")
      return WriteError(res, InvalidRequest("invalid `persist`: use persist=1"));
  } else {
    struct Option {
      const char* name;
      int64_t unit_ms;
      bool absolute;
    };
    for (const Option& o : {Option{"ttl", 1000, false}, Option{"ttl_ms", 1, false},
                            Option{"ttl_at", 1000, true}, Option{"ttl_at_ms", 1, true}}) {
      if (!q.Has(o.name)) continue;
      absl::StatusOr<int64_t> amount = q.GetInt(o.name, 0, kMaxInt, 0);
      if (!amount.ok()) return WriteError(res, FromStatus(amount.status()));
      absl::StatusOr<int64_t> at = ExpiryMs(*amount, o.unit_ms, o.absolute, now);
      if (!at.ok()) return WriteError(res, FromStatus(at.status()));
      expire_at_ms = *at;
    }
  }
  const bool return_value = HeaderFlag(call.req, kReturnValueHeader);
  Op op = KeyOp(Op::EXPIRE, *ns, call.match.key);
  op.set_expire_at_ms(expire_at_ms);
  op.set_return_value(return_value);
  std::vector<Op> ops;
  ops.push_back(std::move(op));
  if (return_value) {
    // The entry's headers after the change come from a GET in the same call, which the shard
    // applies right after the EXPIRE (an unchanged expiry writes nothing and reports no
    // revision, and EXPIRE does not report metadata).
    Op get = KeyOp(Op::GET, *ns, call.match.key);
    get.set_no_value(true);
    ops.push_back(std::move(get));
  }
  ShardResults results = env.shards.Execute(env.shards.ShardOf(call.match.key), std::move(ops));
  if (!results.ok()) return WriteError(res, FromStatus(results.status()));
  OpResult& r = (*results)[0];
  if (r.code() == OpResult::NOT_FOUND) {
    return WriteError(res, NotFound(absl::StrCat("key ", QuoteKey(call.match.key), " not found")));
  }
  if (r.code() != OpResult::OK) return WriteError(res, FromOpResult(r, "expiry condition failed"));
  if (!return_value) {
    res.status = 204;
    return;
  }
  res.status = 200;
  const OpResult& after = (*results)[1];
  if (after.code() == OpResult::OK) {
    SetEntryHeaders(res, after.revision(), after.expire_at_ms(), after.metadata(), NowMs());
  } else if (r.revision() != 0) {  // the expiry was in the past: the key is gone
    res.set_header(kRevisionHeader, std::to_string(r.revision()));
  }
  res.set_content(std::move(*r.mutable_value()), kOctetStream);
}

void HandleIncrementValue(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  std::optional<uint32_t> ns = CheckQuery(call, {"ns", "delta"}, res);
  if (!ns) return;
  absl::StatusOr<int64_t> delta =
      call.query.GetInt("delta", std::numeric_limits<int64_t>::min(), kMaxInt, 1);
  if (!delta.ok()) return WriteError(res, FromStatus(delta.status()));
  Op op = KeyOp(Op::INCR, *ns, call.match.key);
  op.set_delta(*delta);
  std::optional<OpResult> r = RunOne(env, std::move(op), res);
  if (!r) return;
  if (r->code() == OpResult::INVALID_ARGUMENT) {
    return WriteError(res,
                      InvalidRequest(r->reason() == v1::OpResult::INT_OVERFLOW
                                         ? "increment would overflow a 64-bit integer"
                                         : absl::StrCat("the value of ", QuoteKey(call.match.key),
                                                        " is not a decimal integer")));
  }
  if (r->code() != OpResult::OK) return WriteError(res, FromOpResult(*r, ""));
  res.status = 200;
  res.set_header(kRevisionHeader, std::to_string(r->revision()));
  res.set_content(nlohmann::json({{"value", r->int_value()}}).dump(), kJson);
}

}  // namespace beyondkv::gateway::http
