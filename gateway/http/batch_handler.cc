#include "gateway/http/batch_handler.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/http/api_error.h"
#include "gateway/http/base64url.h"
#include "gateway/http/strings.h"

namespace beyondkv::gateway::http {
namespace {

using nlohmann::json;
using v1::Op;
using v1::OpResult;

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

std::string_view KindName(BatchOp::Kind kind) {
  switch (kind) {
    case BatchOp::Kind::kGet:
      return "get";
    case BatchOp::Kind::kSet:
      return "set";
    case BatchOp::Kind::kDelete:
      return "delete";
    case BatchOp::Kind::kExists:
      return "exists";
    case BatchOp::Kind::kIncr:
      return "incr";
  }
  return "?";
}

absl::Status OpError(size_t index, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("op ", index, ": ", AV(what)));
}

// Reads the optional fields of one op object; every accessor records the first error.
class Fields {
 public:
  Fields(const json& object, size_t index) : object_(object), index_(index) {}

  // The field, or nullptr when absent or null.
  const json* Find(const char* name) {
    seen_.push_back(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<int64_t> Int(const char* name, int64_t min, int64_t max) {
    const json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    int64_t n = 0;
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(kMaxInt)) return Fail(name, "is out of range");
      n = static_cast<int64_t>(u);
    } else if (v->is_number_integer()) {
      n = v->get<int64_t>();
    } else {
      return Fail(name, "must be an integer");
    }
    if (n < min || n > max) return Fail(name, absl::StrCat("must be in [", min, ", ", max, "]"));
    return n;
  }

  bool Bool(const char* name) {
    const json* v = Find(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Fail(name, "must be true or false");
      return false;
    }
    return v->get<bool>();
  }

  // A revision: a non-negative integer, or one in a decimal string (JavaScript numbers lose
  // precision above 2^53, and revisions are larger).
  std::optional<uint64_t> Revision(const char* name) {
    const json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_unsigned()) return v->get<uint64_t>();
    if (v->is_number_integer() && v->get<int64_t>() >= 0) return v->get<int64_t>();
    if (v->is_string()) {
      const std::string& s = v->get_ref<const std::string&>();
      uint64_t r = 0;
      bool ok = !s.empty() && s.size() <= 20;
      for (char c : s) {
        ok = ok && c >= '0' && c <= '9' &&
             r <= (std::numeric_limits<uint64_t>::max() - (c - '0')) / 10;
        if (ok) r = r * 10 + (c - '0');
      }
      if (ok) return r;
    }
    Fail(name, "must be a revision (a non-negative integer or a string of digits)");
    return std::nullopt;
  }

  std::optional<std::string> String(const char* name) {
    const json* v = Find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Fail(name, "must be a string");
      return std::nullopt;
    }
    return v->get<std::string>();
  }

  // Fails on a field not read by any accessor.
  void CheckNoOthers() {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      bool known = false;
      for (const char* name : seen_) known = known || it.key() == name;
      if (!known) {
        Fail(it.key().c_str(), "is not a field of this op");
        return;
      }
    }
  }

  std::nullopt_t Fail(const char* name, std::string_view what) {
    if (error_.ok()) error_ = OpError(index_, absl::StrCat("`", name, "` ", AV(what)));
    return std::nullopt;
  }
  absl::Status error() const { return error_; }

 private:
  const json& object_;
  size_t index_;
  std::vector<const char*> seen_;
  absl::Status error_;
};

absl::StatusOr<BatchOp> ParseOne(const json& item, size_t index, uint32_t ns, int64_t now_ms) {
  if (!item.is_object()) return OpError(index, "must be an object");
  Fields f(item, index);
  std::optional<std::string> name = f.String("op");
  std::optional<std::string> key = f.String("key");
  if (!f.error().ok()) return f.error();
  if (!name) return OpError(index, "`op` is missing");
  if (!key || key->empty()) return OpError(index, "`key` is missing or empty");

  BatchOp b;
  b.key = *key;
  if (*name == "get") {
    b.kind = BatchOp::Kind::kGet;
    b.op = KeyOp(Op::GET, ns, std::move(*key));
  } else if (*name == "exists") {
    b.kind = BatchOp::Kind::kExists;
    b.op = KeyOp(Op::EXISTS, ns, std::move(*key));
  } else if (*name == "incr") {
    b.kind = BatchOp::Kind::kIncr;
    b.op = KeyOp(Op::INCR, ns, std::move(*key));
    b.op.set_delta(f.Int("delta", std::numeric_limits<int64_t>::min(), kMaxInt).value_or(1));
  } else if (*name == "delete") {
    b.kind = BatchOp::Kind::kDelete;
    b.op = KeyOp(Op::DELETE, ns, std::move(*key));
    std::optional<uint64_t> if_match = f.Revision("ifMatch");
    const bool return_old = f.Bool("returnOld");
    if (if_match && return_old)
      return OpError(index, "`ifMatch` and `returnOld` exclude each other");
    if (if_match) {
      b.op.set_condition(Op::IF_REVISION);
      b.op.set_if_revision(*if_match);
      b.conflict = absl::StrCat("revision mismatch: the key's revision is not ", *if_match);
    }
    b.op.set_return_old(return_old);
    b.return_old = return_old;
  } else if (*name == "set") {
    b.kind = BatchOp::Kind::kSet;
    b.op = KeyOp(Op::PUT, ns, std::move(*key));
    std::optional<std::string> value = f.String("value");
    std::optional<int64_t> ttl = f.Int("ttl", 0, kMaxInt / 1000);
    std::optional<int64_t> ttl_ms = f.Int("ttlMs", 0, kMaxInt);
    const json* metadata = f.Find("metadata");
    const bool nx = f.Bool("nx");
    const bool xx = f.Bool("xx");
    const bool keep_ttl = f.Bool("keepTtl");
    std::optional<uint64_t> if_match = f.Revision("ifMatch");
    f.CheckNoOthers();
    if (!f.error().ok()) return f.error();
    if (!value) return OpError(index, "`value` is missing");
    std::optional<std::string> bytes = Base64UrlDecode(*value);
    if (!bytes) return OpError(index, "`value` is not base64url");
    b.op.set_value(std::move(*bytes));
    if (ttl && ttl_ms) return OpError(index, "`ttl` and `ttlMs` exclude each other");
    const int64_t ttl_total_ms = ttl ? *ttl * 1000 : ttl_ms.value_or(0);
    if (keep_ttl && (ttl || ttl_ms)) return OpError(index, "`keepTtl` excludes `ttl` and `ttlMs`");
    if ((nx ? 1 : 0) + (xx ? 1 : 0) + (if_match ? 1 : 0) > 1) {
      return OpError(index, "`nx`, `xx` and `ifMatch` exclude each other");
    }
    if (ttl_total_ms > 0) {  // 0 = no expiry, as for PUT
      absl::StatusOr<int64_t> at = ExpiryMs(ttl_total_ms, 1, false, now_ms);
      if (!at.ok()) return OpError(index, SV(at.status().message()));
      b.op.set_expire_at_ms(*at);
    }
    b.op.set_keep_ttl(keep_ttl);
    if (metadata != nullptr) {
      std::string text = metadata->dump(-1, ' ', false, json::error_handler_t::replace);
      if (text.size() > kMaxMetadataBytes) {
        return OpError(index, absl::StrCat("`metadata` is ", text.size(), " bytes; at most ",
                                           kMaxMetadataBytes, " are allowed"));
      }
      b.op.set_metadata(std::move(text));
    }
    if (nx) {
      b.op.set_condition(Op::IF_ABSENT);
      b.conflict = "key already exists (nx)";
    } else if (xx) {
      b.op.set_condition(Op::IF_PRESENT);
      b.conflict = "key does not exist (xx)";
    } else if (if_match) {
      b.op.set_condition(Op::IF_REVISION);
      b.op.set_if_revision(*if_match);
      b.conflict = absl::StrCat("revision mismatch: the key's revision is not ", *if_match);
    }
  } else {
    return OpError(
        index, absl::StrCat("unknown op \"", *name, "\" (use get, set, delete, exists or incr)"));
  }
  f.CheckNoOthers();
  if (!f.error().ok()) return f.error();
  return b;
}

// Appends an entry as batch results show it: {"value","revision","ttl"?,"ttl_ms"?,
// "metadata"?}. Written directly rather than through a JSON DOM: a batch of gets spends most
// of its gateway time here.
void AppendEntry(std::string* out, const OpResult& r, uint64_t revision, int64_t now_ms) {
  absl::StrAppend(out, "{\"value\":\"", Base64UrlEncode(r.value()), "\",\"revision\":", revision);
  if (r.expire_at_ms() != 0) {
    absl::StrAppend(out, ",\"ttl\":", RemainingSeconds(r.expire_at_ms(), now_ms),
                    ",\"ttl_ms\":", RemainingMs(r.expire_at_ms(), now_ms));
  }
  if (!r.metadata().empty()) {
    // Metadata is stored as the JSON text it was given; show anything else as a string.
    const std::string& m = r.metadata();
    absl::StrAppend(out, ",\"metadata\":",
                    json::accept(m.begin(), m.end())
                        ? m
                        : json(m).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  out->push_back('}');
}

}  // namespace

absl::StatusOr<std::vector<BatchOp>> ParseBatch(const std::string& body, uint32_t ns,
                                                int64_t now_ms) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError("the body is not valid JSON (UTF-8 text, one array of ops)");
  }
  if (!doc.is_array()) return absl::InvalidArgumentError("the body must be a JSON array of ops");
  if (doc.size() > kMaxBatchOps) {
    return absl::InvalidArgumentError(
        absl::StrCat("a batch holds at most ", kMaxBatchOps, " ops; this one has ", doc.size()));
  }
  std::vector<BatchOp> ops;
  ops.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    absl::StatusOr<BatchOp> op = ParseOne(doc[i], i, ns, now_ms);
    if (!op.ok()) return op.status();
    ops.push_back(std::move(*op));
  }
  return ops;
}

void HandleBatch(const HandlerEnv& env, const ApiCall& call, httplib::Response& res) {
  if (absl::Status s = call.query.CheckAllowed({"ns"}); !s.ok()) {
    return WriteError(res, FromStatus(s));
  }
  absl::StatusOr<uint32_t> ns = Namespace(call.query);
  if (!ns.ok()) return WriteError(res, FromStatus(ns.status()));
  const int64_t now = NowMs();
  absl::StatusOr<std::vector<BatchOp>> ops = ParseBatch(call.body, *ns, now);
  if (!ops.ok()) return WriteError(res, FromStatus(ops.status()));

  // Group by shard, keeping request order within each group.
  std::map<uint32_t, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < ops->size(); ++i) {
    by_shard[env.shards.ShardOf((*ops)[i].key)].push_back(i);
  }
  std::vector<std::pair<uint32_t, std::vector<Op>>> calls;
  std::vector<const std::vector<size_t>*> indexes;
  for (const auto& [shard, members] : by_shard) {
    std::vector<Op> shard_ops;
    shard_ops.reserve(members.size());
    for (size_t i : members) shard_ops.push_back(std::move((*ops)[i].op));
    calls.emplace_back(shard, std::move(shard_ops));
    indexes.push_back(&members);
  }
  std::vector<ShardResults> results = env.shards.ExecuteAll(std::move(calls));

  std::vector<OpResult> by_index(ops->size());
  for (size_t c = 0; c < results.size(); ++c) {
    // A shard that could not answer fails the whole batch (5xx: the client may retry it).
    if (!results[c].ok()) return WriteError(res, FromStatus(results[c].status()));
    const std::vector<size_t>& members = *indexes[c];
    for (size_t k = 0; k < members.size(); ++k) by_index[members[k]] = std::move((*results[c])[k]);
  }

  std::string out = "[";
  for (size_t i = 0; i < ops->size(); ++i) {
    const BatchOp& op = (*ops)[i];
    OpResult& r = by_index[i];
    const bool not_found_ok = op.kind == BatchOp::Kind::kGet || op.kind == BatchOp::Kind::kExists ||
                              op.kind == BatchOp::Kind::kDelete;
    if (r.code() != OpResult::OK && !(r.code() == OpResult::NOT_FOUND && not_found_ok)) {
      ApiError e = FromOpResult(r, op.conflict);
      if (op.kind == BatchOp::Kind::kIncr && r.code() == OpResult::INVALID_ARGUMENT) {
        e.message = r.reason() == v1::OpResult::INT_OVERFLOW ? "increment would overflow a 64-bit integer"
                                              : "the value is not a decimal integer";
      }
      e.message = absl::StrCat("op ", i, " (", AV(KindName(op.kind)), " ", QuoteKey(op.key),
                               "): ", e.message);
      return WriteError(res, e);
    }
    if (i > 0) out.push_back(',');
    switch (op.kind) {
      case BatchOp::Kind::kGet:
        if (r.code() == OpResult::OK) {
          AppendEntry(&out, r, r.revision(), now);
        } else {
          out += "null";
        }
        break;
      case BatchOp::Kind::kSet:
        out += "null";
        break;
      case BatchOp::Kind::kDelete:
        if (op.return_old && r.code() == OpResult::OK && r.has_old()) {
          AppendEntry(&out, r, r.old_revision(), now);
        } else {
          out += "null";
        }
        break;
      case BatchOp::Kind::kExists:
        out += r.code() == OpResult::OK ? "true" : "false";
        break;
      case BatchOp::Kind::kIncr:
        absl::StrAppend(&out, "{\"value\":", r.int_value(), "}");
        break;
    }
  }
  out.push_back(']');
  res.status = 200;
  res.set_content(std::move(out), kJson);
}

}  // namespace beyondkv::gateway::http
