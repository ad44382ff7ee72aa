#include "gateway/http/keyspace_handlers.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/http/api_error.h"
#include "gateway/http/base64url.h"
#include "gateway/http/list_pages.h"

namespace beyondkv::gateway::http {
namespace {

using v1::Op;
using v1::OpResult;

constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;
// Keys per SCAN while counting the keys under a prefix.
constexpr uint32_t kCountScanLimit = 1000;

// The first failure among one result per shard, as an error; nullopt when every shard
// answered OK.
std::optional<ApiError> FirstFailure(const std::vector<ShardResults>& results) {
  for (const ShardResults& r : results) {
    if (!r.ok()) return FromStatus(r.status());
    for (const OpResult& op : *r) {
      if (op.code() != OpResult::OK) return FromOpResult(op, "");
    }
  }
  return std::nullopt;
}

// One op of `type` in `ns` to every shard.
std::vector<ShardResults> ToEveryShard(const HandlerEnv& env, const Op& op) {
  std::vector<std::pair<uint32_t, std::vector<Op>>> calls;
  for (uint32_t shard = 0; shard < env.shards.shard_count(); ++shard) {
    calls.emplace_back(shard, std::vector<Op>{op});
  }
  return env.shards.ExecuteAll(std::move(calls));
}

Op ScanOp(uint32_t ns, const std::string& prefix, const std::optional<std::string>& after,
          uint32_t limit) {
  Op op;
  op.set_type(Op::SCAN);
  op.set_ns(ns);
  op.set_prefix(prefix);
  if (after) op.set_start_after(*after);
  op.set_limit(limit);
  return op;
}

// Counts the keys of `ns` (under `prefix` if non-empty). Writes the error and returns false
// on failure.
bool CountKeys(const HandlerEnv& env, uint32_t ns, const std::string& prefix, int64_t* count,
               httplib::Response& res) {
  *count = 0;
  if (prefix.empty()) {
    Op op;
    op.set_type(Op::DBSIZE);
    op.set_ns(ns);
    std::vector<ShardResults> results = ToEveryShard(env, op);
    if (std::optional<ApiError> e = FirstFailure(results)) {
      WriteError(res, *e);
      return false;
    }
    for (const ShardResults& r : results) *count += (*r)[0].count();
    return true;
  }
  // Under a prefix: each shard's keys are counted by paging SCAN from its own position.
  const uint32_t n = env.shards.shard_count();
  std::vector<std::optional<std::string>> after(n);
  std::vector<bool> done(n, false);
  for (;;) {
    std::vector<std::pair<uint32_t, std::vector<Op>>> calls;
    std::vector<uint32_t> shard_of_call;
    for (uint32_t shard = 0; shard < n; ++shard) {
      if (done[shard]) continue;
      calls.emplace_back(shard, std::vector<Op>{ScanOp(ns, prefix, after[shard], kCountScanLimit)});
      shard_of_call.push_back(shard);
    }
    if (calls.empty()) return true;
    std::vector<ShardResults> results = env.shards.ExecuteAll(std::move(calls));
    if (std::optional<ApiError> e = FirstFailure(results)) {
      WriteError(res, *e);
      return false;
    }
    for (size_t i = 0; i < results.size(); ++i) {
      const OpResult& page = (*results[i])[0];
      *count += page.keys_size();
      const uint32_t shard = shard_of_call[i];
      if (page.more() && !page.last_key().empty()) {
        after[shard] = page.last_key();
      } else {
        done[shard] = true;
      }
    }
  }
}

}  // namespace

void HandleListKeys(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  const QueryParams& q = call.query;
  if (absl::Status s = q.CheckAllowed({"ns", "prefix", "cursor", "limit", "count"}); !s.ok()) {
    return WriteError(res, FromStatus(s));
  }
  absl::StatusOr<uint32_t> ns = Namespace(q);
  absl::StatusOr<bool> count_only = q.GetFlag("count");
  // 0 asks for the default, as an omitted limit; above the maximum is capped.
  absl::StatusOr<int64_t> limit = q.GetInt("limit", 0, std::numeric_limits<int64_t>::max(), 0);
  absl::StatusOr<std::optional<std::string>> after = DecodeListCursor(q.Get("cursor").value_or(""));
  for (const absl::Status& s : {ns.status(), count_only.status(), limit.status(), after.status()}) {
    if (!s.ok()) return WriteError(res, FromStatus(s));
  }
  const std::string prefix = q.Get("prefix").value_or("");

  if (*count_only) {
    int64_t count = 0;
    if (!CountKeys(env, *ns, prefix, &count, res)) return;
    res.status = 200;
    res.set_content(nlohmann::json({{"count", count}}).dump(), kJson);
    return;
  }

  const int64_t page_limit = *limit == 0 ? kDefaultLimit : std::min(*limit, kMaxLimit);
  std::vector<ShardResults> results =
      ToEveryShard(env, ScanOp(*ns, prefix, *after, static_cast<uint32_t>(page_limit)));
  if (std::optional<ApiError> e = FirstFailure(results)) return WriteError(res, *e);
  std::vector<ShardPage> pages;
  for (ShardResults& r : results) {
    OpResult& page = (*r)[0];
    ShardPage p;
    for (std::string& key : *page.mutable_keys()) p.keys.push_back(std::move(key));
    p.more = page.more();
    p.last_key = page.last_key();
    pages.push_back(std::move(p));
  }
  MergedPage merged = MergeShardPages(std::move(pages), static_cast<size_t>(page_limit));

  nlohmann::json keys = nlohmann::json::array();
  for (const std::string& key : merged.keys) {
    nlohmann::json item = {{"name", key}};
    // JSON strings are Unicode: a key that is not UTF-8 is shown with U+FFFD in `name`, and
    // its exact bytes in `name_base64url` (our extension).
    if (!IsUtf8(key)) item["name_base64url"] = Base64UrlEncode(key);
    keys.push_back(std::move(item));
  }
  nlohmann::json body = {{"keys", std::move(keys)}};
  if (merged.resume_after) body["next_cursor"] = EncodeListCursor(*merged.resume_after);
  res.status = 200;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

void HandleFlushNamespace(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  if (absl::Status s = call.query.CheckAllowed({"ns"}); !s.ok()) {
    return WriteError(res, FromStatus(s));
  }
  absl::StatusOr<uint32_t> ns = Namespace(call.query);
  if (!ns.ok()) return WriteError(res, FromStatus(ns.status()));
  Op op;
  op.set_type(Op::FLUSH);
  op.set_ns(*ns);
  if (std::optional<ApiError> e = FirstFailure(ToEveryShard(env, op))) {
    return WriteError(res, *e);
  }
  res.status = 204;
}

void HandleCompact(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  if (absl::Status s = call.query.CheckAllowed({"ns"}); !s.ok()) {
    return WriteError(res, FromStatus(s));
  }
  absl::StatusOr<uint32_t> ns = Namespace(call.query);
  if (!ns.ok()) return WriteError(res, FromStatus(ns.status()));
  Op op;
  op.set_type(Op::RECLAIM);
  op.set_ns(*ns);
  if (std::optional<ApiError> e = FirstFailure(ToEveryShard(env, op))) {
    return WriteError(res, *e);
  }
  res.status = 204;
}

}  // namespace beyondkv::gateway::http
