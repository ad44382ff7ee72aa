#include "sdk/cpp/kv_client.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/socket_paths.h"
#include "sdk/cpp/client_core.h"
#include "sdk/cpp/watch_state.h"
#include "services/beyond-kv/data_dir.h"

namespace beyondkv {
namespace {

// engine::kNamespaceCount (the shards check it too; the engine library is not linked here).
constexpr uint32_t kNamespaces = 16;
constexpr uint32_t kMaxShards = 64;  // the revision's low 6 bits (ARCHITECTURE.md §6)

// The one result of a single-op call, or its failure.
absl::StatusOr<v1::OpResult> SingleResult(sdk::OpResults results) {
  if (!results.ok()) return results.status();
  if (results->size() != 1) return absl::InternalError("shard answered a short batch");
  return std::move((*results)[0]);
}

// The data directory that holds `socket_dir` (<data-dir>/run).
std::string DataDirOf(const std::string& socket_dir) {
  std::filesystem::path path = std::filesystem::path(socket_dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "run/" -> "run"
  std::filesystem::path parent = path.parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Open(const std::string& socket_dir,
                                                     ClientOptions options) {
  if (options.ns >= kNamespaces) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace ", options.ns, " is out of range (0-", kNamespaces - 1, ")"));
  }
  if (options.timeout_ms <= 0) {
    return absl::InvalidArgumentError("timeout_ms must be positive");
  }
  struct stat st;
  if (stat(socket_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("socket directory ", socket_dir, " does not exist"));
  }
  uint32_t shard_count = options.shard_count;
  if (shard_count == 0) {
    const std::string data_dir = DataDirOf(socket_dir);
    absl::StatusOr<int> manifest = services::ReadManifestShardCount(data_dir);
    if (!manifest.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot learn the shard count from the data directory ", data_dir, " (",
          manifest.status().message(), "); set ClientOptions::shard_count"));
    }
    shard_count = static_cast<uint32_t>(*manifest);
  }
  if (shard_count < 1 || shard_count > kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard count ", shard_count, " is out of range (1-", kMaxShards, ")"));
  }
  const std::string longest = ShardSocketPath(socket_dir, shard_count - 1);
  if (longest.size() > services::kMaxUnixSocketPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "socket path ", longest, " is longer than ", services::kMaxUnixSocketPathBytes, " bytes"));
  }
  auto core = std::make_shared<sdk::ClientCore>(socket_dir, shard_count, options);
  return std::unique_ptr<Client>(new Client(std::move(core)));
}

Client::Client(std::shared_ptr<sdk::ClientCore> core) : core_(std::move(core)) {}

Client::~Client() = default;

uint32_t Client::shard_count() const { return core_->shard_count(); }
uint32_t Client::ns() const { return core_->options().ns; }
ClientStats Client::stats() const { return core_->Stats(); }

absl::StatusOr<Entry> Client::Get(std::string_view key) {
  std::vector<v1::Op> ops(1);
  ops[0].set_type(v1::Op::GET);
  ops[0].set_ns(ns());
  ops[0].set_key(std::string(key));
  absl::StatusOr<v1::OpResult> r = SingleResult(core_->Execute(core_->ShardOf(key), std::move(ops)));
  if (!r.ok()) return r.status();
  if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
  Entry entry;
  entry.value = std::move(*r->mutable_value());
  entry.revision = r->revision();
  entry.expire_at_ms = r->expire_at_ms();
  return entry;
}

absl::StatusOr<uint64_t> Client::Set(std::string_view key, std::string_view value,
                                     const SetOptions& options) {
  if (options.ttl_ms < 0) return absl::InvalidArgumentError("ttl_ms must not be negative");
  std::vector<v1::Op> ops(1);
  v1::Op& op = ops[0];
  op.set_type(v1::Op::PUT);
  op.set_ns(ns());
  op.set_key(std::string(key));
  op.set_value(std::string(value));
  if (options.ttl_ms > 0) op.set_expire_at_ms(absl::ToUnixMillis(absl::Now()) + options.ttl_ms);
  if (options.if_revision.has_value()) {
    op.set_condition(v1::Op::IF_REVISION);
    op.set_if_revision(*options.if_revision);
  }
  absl::StatusOr<v1::OpResult> r = SingleResult(core_->Execute(core_->ShardOf(key), std::move(ops)));
  if (!r.ok()) return r.status();
  if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
  return r->revision();
}

absl::StatusOr<bool> Client::Delete(std::string_view key) {
  std::vector<v1::Op> ops(1);
  ops[0].set_type(v1::Op::DELETE);
  ops[0].set_ns(ns());
  ops[0].set_key(std::string(key));
  absl::StatusOr<v1::OpResult> r = SingleResult(core_->Execute(core_->ShardOf(key), std::move(ops)));
  if (!r.ok()) return r.status();
  if (r->code() == v1::OpResult::NOT_FOUND) return false;
  if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
  return true;
}

absl::StatusOr<int64_t> Client::Incr(std::string_view key, int64_t delta) {
  std::vector<v1::Op> ops(1);
  ops[0].set_type(v1::Op::INCR);
  ops[0].set_ns(ns());
  ops[0].set_key(std::string(key));
  ops[0].set_delta(delta);
  absl::StatusOr<v1::OpResult> r = SingleResult(core_->Execute(core_->ShardOf(key), std::move(ops)));
  if (!r.ok()) return r.status();
  if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
  return r->int_value();
}

absl::StatusOr<std::vector<std::optional<std::string>>> Client::MGet(
    const std::vector<std::string>& keys) {
  // One MGET op per shard with that shard's keys in the caller's order; positions[s][j] is
  // where the shard's j-th key goes in the answer.
  std::map<uint32_t, std::vector<size_t>> positions;
  std::map<uint32_t, v1::Op> ops;
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t shard = core_->ShardOf(keys[i]);
    v1::Op& op = ops[shard];
    op.set_type(v1::Op::MGET);
    op.set_ns(ns());
    op.add_keys(keys[i]);
    positions[shard].push_back(i);
  }
  std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls;
  for (auto& [shard, op] : ops) {
    calls.emplace_back(shard, std::vector<v1::Op>(1));
    calls.back().second[0] = std::move(op);
  }
  std::vector<sdk::OpResults> answers = core_->ExecuteAll(std::move(calls));
  std::vector<std::optional<std::string>> values(keys.size());
  size_t call = 0;
  for (auto& [shard, where] : positions) {
    absl::StatusOr<v1::OpResult> r = SingleResult(std::move(answers[call++]));
    if (!r.ok()) return r.status();
    if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
    if (r->values_size() != static_cast<int>(where.size()) ||
        r->found_size() != static_cast<int>(where.size())) {
      return absl::InternalError(absl::StrCat("shard ", shard, " answered MGET short"));
    }
    for (size_t j = 0; j < where.size(); ++j) {
      if (r->found(static_cast<int>(j))) {
        values[where[j]] = std::move(*r->mutable_values(static_cast<int>(j)));
      }
    }
  }
  return values;
}

absl::StatusOr<uint64_t> Client::MSet(
    const std::vector<std::pair<std::string, std::string>>& kvs) {
  std::map<uint32_t, v1::Op> ops;
  for (const auto& [key, value] : kvs) {
    v1::Op& op = ops[core_->ShardOf(key)];
    op.set_type(v1::Op::MPUT);
    op.set_ns(ns());
    op.add_keys(key);
    op.add_values(value);
  }
  std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls;
  for (auto& [shard, op] : ops) {
    calls.emplace_back(shard, std::vector<v1::Op>(1));
    calls.back().second[0] = std::move(op);
  }
  uint64_t revision = 0;
  for (sdk::OpResults& answer : core_->ExecuteAll(std::move(calls))) {
    absl::StatusOr<v1::OpResult> r = SingleResult(std::move(answer));
    if (!r.ok()) return r.status();
    if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
    revision = std::max(revision, r->revision());
  }
  return revision;
}

absl::StatusOr<ScanPage> Client::Scan(std::string_view prefix, std::string_view start_after,
                                      uint32_t limit) {
  if (limit == 0) return absl::InvalidArgumentError("limit must be positive");
  std::vector<std::pair<uint32_t, std::vector<v1::Op>>> calls;
  for (uint32_t shard = 0; shard < shard_count(); ++shard) {
    calls.emplace_back(shard, std::vector<v1::Op>(1));
    v1::Op& op = calls.back().second[0];
    op.set_type(v1::Op::SCAN);
    op.set_ns(ns());
    op.set_prefix(std::string(prefix));
    op.set_start_after(std::string(start_after));
    op.set_limit(limit);
  }
  std::vector<sdk::OpResults> answers = core_->ExecuteAll(std::move(calls));
  // Each shard examined its keys up to its last_key (all of them when !more). Keys are
  // complete only up to the lowest such point among the shards that have more: the page
  // keeps the keys up to it, so no shard's unseen key can fall before a key returned.
  std::vector<v1::OpResult> results;
  std::optional<std::string> bound;
  for (sdk::OpResults& answer : answers) {
    absl::StatusOr<v1::OpResult> r = SingleResult(std::move(answer));
    if (!r.ok()) return r.status();
    if (absl::Status s = sdk::OpStatus(*r); !s.ok()) return s;
    if (r->more() && (!bound || r->last_key() < *bound)) bound = r->last_key();
    results.push_back(std::move(*r));
  }
  ScanPage page;
  for (v1::OpResult& r : results) {
    for (std::string& key : *r.mutable_keys()) {
      if (!bound || key <= *bound) page.keys.push_back(std::move(key));
    }
  }
  std::sort(page.keys.begin(), page.keys.end());
  page.more = bound.has_value();
  if (page.keys.size() > limit) {
    page.keys.resize(limit);
    page.more = true;
  }
  if (page.more) {
    // Truncated: after the last key returned. Otherwise every shard got past `bound`.
    page.resume_after = page.keys.size() == limit ? page.keys.back() : *bound;
  }
  return page;
}

absl::StatusOr<std::vector<std::string>> Client::ScanAll(std::string_view prefix) {
  std::vector<std::string> keys;
  std::string after;
  for (;;) {
    absl::StatusOr<ScanPage> page = Scan(prefix, after);
    if (!page.ok()) return page.status();
    for (std::string& key : page->keys) keys.push_back(std::move(key));
    if (!page->more) return keys;
    after = std::move(page->resume_after);
  }
}

absl::StatusOr<std::unique_ptr<WatchStream>> Client::Watch(std::vector<std::string> prefixes,
                                                           std::optional<uint64_t> since) {
  if (prefixes.empty()) return absl::InvalidArgumentError("Watch needs at least one prefix");
  v1::WatchRequest request;
  request.set_ns(ns());
  for (std::string& prefix : prefixes) request.add_prefixes(std::move(prefix));
  request.set_has_since(since.has_value());
  request.set_since_revision(since.value_or(0));
  std::vector<uint32_t> shards;
  std::vector<v1::WatchRequest> requests;
  for (uint32_t shard = 0; shard < shard_count(); ++shard) {
    shards.push_back(shard);
    requests.push_back(request);
  }
  return std::unique_ptr<WatchStream>(
      new WatchStream(sdk::StartWatch(core_, std::move(shards), std::move(requests))));
}

}  // namespace beyondkv
