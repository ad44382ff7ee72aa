#include "services/kv-shard/op_table.h"

#include <string>
#include <utility>

#include "common/bit_ops.h"
#include "common/glob.h"
#include "services/kv-shard/string_ops.h"

namespace beyondkv::shard {
namespace {

using v1::Op;
using v1::OpResult;

// Maps an engine status to the wire result code. The message travels to the gateway, which
// turns it into a RESP error or an HTTP status.
void SetError(const absl::Status& status, OpResult* result) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      result->set_code(OpResult::NOT_FOUND);
      return;
    case absl::StatusCode::kInvalidArgument:
      result->set_code(OpResult::INVALID_ARGUMENT);
      break;
    default:
      result->set_code(OpResult::INTERNAL);
      break;
  }
  result->set_message(std::string(status.message()));
}

void Invalid(std::string message, OpResult* result) {
  result->set_code(OpResult::INVALID_ARGUMENT);
  result->set_message(std::move(message));
}

void Invalid(OpResult::Reason reason, OpResult* result) {
  result->set_code(OpResult::INVALID_ARGUMENT);
  result->set_reason(reason);
  result->set_message(OpResult::Reason_Name(reason));
}

engine::PutOptions::Condition ToCondition(Op::Condition condition) {
  switch (condition) {
    case Op::IF_ABSENT:
      return engine::PutOptions::Condition::kIfAbsent;
    case Op::IF_PRESENT:
      return engine::PutOptions::Condition::kIfPresent;
    case Op::IF_REVISION:
      return engine::PutOptions::Condition::kIfRevision;
    default:
      return engine::PutOptions::Condition::kAlways;
  }
}

void SetOld(engine::Entry* old, OpResult* result) {
  result->set_has_old(old->revision != 0);
  if (old->revision == 0) return;
  result->set_value(std::move(old->value));
  result->set_metadata(std::move(old->metadata));
  result->set_old_revision(old->revision);
  result->set_expire_at_ms(old->expire_at_ms);
}

// --- what ops read ahead ---

void ReadKeyValue(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  keys->push_back({op.ns(), op.key(), true});
}

void ReadGet(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  keys->push_back({op.ns(), op.key(), !op.no_value()});
}

// A key only written is still "read ahead" as write_only: the engine prefetches its index and
// cache lines, so a batch's writes overlap their cache misses like its reads.
void WriteOnly(uint32_t ns, const std::string& key, std::vector<engine::ReadAheadKey>* keys) {
  keys->push_back({ns, key, /*value=*/false, /*write_only=*/true});
}

void ReadPut(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  if (op.return_old()) {
    keys->push_back({op.ns(), op.key(), true});
  } else if (op.keep_metadata()) {
    keys->push_back({op.ns(), op.key(), false});
  } else {
    WriteOnly(op.ns(), op.key(), keys);
  }
}

void ReadDelete(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  if (op.return_old()) {
    keys->push_back({op.ns(), op.key(), true});
  } else {
    WriteOnly(op.ns(), op.key(), keys);
  }
}

void ReadMwrite(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  for (const std::string& key : op.keys()) WriteOnly(op.ns(), key, keys);
}

void ReadExists(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  keys->push_back({op.ns(), op.key(), false});
}

void ReadMexists(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  for (const std::string& key : op.keys()) keys->push_back({op.ns(), key, false});
}

void ReadExpire(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  keys->push_back({op.ns(), op.key(), op.return_value()});
}

void ReadRevision(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  keys->push_back({op.ns(), op.key(), false});
}

void ReadMget(const Op& op, std::vector<engine::ReadAheadKey>* keys) {
  for (const std::string& key : op.keys()) keys->push_back({op.ns(), key, true});
}

// --- how ops apply ---

void ApplyGet(OpContext& ctx, const Op& op, OpResult* result) {
  engine::ReadOptions options;
  options.value = !op.no_value();
  absl::StatusOr<engine::Entry> entry = ctx.engine->Get(op.ns(), op.key(), options);
  if (!entry.ok()) return SetError(entry.status(), result);
  result->set_revision(entry->revision);
  result->set_expire_at_ms(entry->expire_at_ms);
  result->set_metadata(std::move(entry->metadata));
  result->set_value(std::move(entry->value));
}

void ApplyPut(OpContext& ctx, const Op& op, OpResult* result) {
  engine::PutOptions options;
  options.condition = ToCondition(op.condition());
  options.if_revision = op.if_revision();
  options.expire_at_ms = op.expire_at_ms();
  options.keep_ttl = op.keep_ttl();
  options.metadata = op.metadata();
  options.keep_metadata = op.keep_metadata();
  engine::Entry old;
  absl::StatusOr<engine::PutResult> put = ctx.engine->Put(op.ns(), op.key(), op.value(), options,
                                                          op.return_old() ? &old : nullptr);
  if (!put.ok()) return SetError(put.status(), result);
  if (!put->written) result->set_code(OpResult::CONDITION_FAILED);
  result->set_revision(put->revision);
  if (op.return_old()) SetOld(&old, result);
}

void ApplyDelete(OpContext& ctx, const Op& op, OpResult* result) {
  engine::DeleteOptions options;
  if (op.condition() == Op::IF_REVISION) options.if_revision = op.if_revision();
  engine::Entry old;
  absl::StatusOr<engine::DeleteResult> deleted =
      ctx.engine->Delete(op.ns(), op.key(), options, op.return_old() ? &old : nullptr);
  if (!deleted.ok()) return SetError(deleted.status(), result);
  if (deleted->condition_failed) {
    result->set_code(OpResult::CONDITION_FAILED);
  } else if (!deleted->deleted) {
    result->set_code(OpResult::NOT_FOUND);
  }
  result->set_revision(deleted->revision);
  if (op.return_old()) SetOld(&old, result);
}

void ApplyExists(OpContext& ctx, const Op& op, OpResult* result) {
  absl::StatusOr<bool> exists = ctx.engine->Exists(op.ns(), op.key());
  if (!exists.ok()) return SetError(exists.status(), result);
  if (!*exists) result->set_code(OpResult::NOT_FOUND);
}

void ApplyDbSize(OpContext& ctx, const Op& op, OpResult* result) {
  absl::StatusOr<uint64_t> count = ctx.engine->KeyCount(op.ns());
  if (!count.ok()) return SetError(count.status(), result);
  result->set_count(static_cast<int64_t>(*count));
}

void ApplyPing(OpContext&, const Op&, OpResult*) {}

// INCR, INCR_FLOAT, APPEND and SETRANGE: read the value, compute (string_ops.h), write it back
// keeping the expiry and the metadata. Atomic because only the engine thread touches the
// engine.
void ApplyReadModifyWrite(OpContext& ctx, const Op& op, OpResult* result) {
  absl::StatusOr<engine::Entry> current = ctx.engine->Get(op.ns(), op.key());
  if (!current.ok() && current.status().code() != absl::StatusCode::kNotFound) {
    return SetError(current.status(), result);
  }
  const std::string* value = current.ok() ? &current->value : nullptr;
  StringEdit edit;
  switch (op.type()) {
    case Op::INCR:
      edit = IncrBy(value, op.delta());
      result->set_int_value(edit.int_value);
      break;
    case Op::INCR_FLOAT:
      edit = IncrByFloat(value, op.value());
      if (edit.error == OpResult::REASON_UNSPECIFIED) result->set_value(edit.value);
      break;
    case Op::APPEND:
      edit = Append(value, op.value());
      result->set_count(edit.length);
      break;
    case Op::SETRANGE:
      edit = SetRange(value, op.offset(), op.value());
      result->set_count(edit.length);
      break;
    default:
      return Invalid("not a read-modify-write op", result);
  }
  if (edit.error != OpResult::REASON_UNSPECIFIED) {
    result->Clear();
    return Invalid(edit.error, result);
  }
  if (!edit.write) return;
  engine::PutOptions options;
  options.keep_ttl = true;
  options.keep_metadata = true;
  absl::StatusOr<engine::PutResult> put = ctx.engine->Put(op.ns(), op.key(), edit.value, options);
  if (!put.ok()) {
    result->Clear();
    return SetError(put.status(), result);
  }
  result->set_revision(put->revision);
}

// A Redis error line without its "ERR " (the gateways add it back, ReplyOpError).
std::string WithoutErr(const absl::Status& status) {
  std::string message(status.message());
  if (message.rfind("ERR ", 0) == 0) message.erase(0, 4);
  return message;
}

// SETBIT and BITFIELD (common/bit_ops.h): the arguments are parsed again here, so a batch
// from any sender gets Redis's error instead of reaching an assertion.
void ApplyBits(OpContext& ctx, const Op& op, OpResult* result) {
  bitops::Args args(op.args().begin(), op.args().end());
  absl::StatusOr<engine::Entry> current = ctx.engine->Get(op.ns(), op.key());
  if (!current.ok() && current.status().code() != absl::StatusCode::kNotFound) {
    return SetError(current.status(), result);
  }
  std::string value = current.ok() ? std::move(current->value) : std::string();
  bool write = false;
  if (op.command() == "setbit") {
    absl::StatusOr<bitops::SetBitArgs> parsed = bitops::ParseSetBit(args);
    if (!parsed.ok()) return Invalid(WithoutErr(parsed.status()), result);
    const int old_bit = bitops::SetBitInPlace(&value, parsed->offset, parsed->bit);
    result->set_int_value(old_bit);
    // Redis 7.0 writes (and signals the key modified) even when the bit already had the
    // value, so a WATCH of the key aborts; so do we (a new revision).
    write = true;
  } else if (op.command() == "bitfield") {
    absl::StatusOr<bitops::BitfieldSpec> spec = bitops::ParseBitfield(args, false);
    if (!spec.ok()) return Invalid(WithoutErr(spec.status()), result);
    const bitops::BitfieldReply replies = bitops::ApplyBitfield(*spec, &value);
    for (const std::optional<int64_t>& r : replies) {
      result->add_values(r.has_value() ? std::to_string(*r) : std::string());
      result->add_found(r.has_value());
    }
    write = bitops::BitfieldWrites(*spec);
  } else {
    return Invalid("unknown bit command '" + op.command() + "'", result);
  }
  if (!write) return;
  engine::PutOptions options;
  options.keep_ttl = true;
  options.keep_metadata = true;
  absl::StatusOr<engine::PutResult> put = ctx.engine->Put(op.ns(), op.key(), value, options);
  if (!put.ok()) {
    result->Clear();
    return SetError(put.status(), result);
  }
  result->set_revision(put->revision);
}

// WATCH's check at EXEC: the key is still at the revision WATCH read (0: absent).
void ApplyCheckRevision(OpContext& ctx, const Op& op, OpResult* result) {
  engine::ReadOptions options;
  options.value = false;
  absl::StatusOr<engine::Entry> entry = ctx.engine->Get(op.ns(), op.key(), options);
  if (!entry.ok() && !absl::IsNotFound(entry.status())) return SetError(entry.status(), result);
  const uint64_t revision = entry.ok() ? entry->revision : 0;
  result->set_revision(revision);
  if (revision != op.if_revision()) result->set_code(OpResult::CONDITION_FAILED);
}

// EXPIRE family, PERSIST and GETEX: the condition is checked against the current expiry.
void ApplyExpire(OpContext& ctx, const Op& op, OpResult* result) {
  engine::ReadOptions read;
  read.value = op.return_value();
  absl::StatusOr<engine::Entry> current = ctx.engine->Get(op.ns(), op.key(), read);
  if (!current.ok()) return SetError(current.status(), result);
  const int64_t now = current->expire_at_ms;  // current expiry, 0 = none
  const int64_t next = op.expire_at_ms();
  if (op.return_value()) result->set_value(std::move(current->value));
  if (!ExpireConditionHolds(op.expire_condition(), now, next)) {
    result->set_code(OpResult::CONDITION_FAILED);
    return;
  }
  if (next == now && op.return_value()) {  // GETEX without a change writes nothing
    result->set_revision(current->revision);
    return;
  }
  absl::StatusOr<uint64_t> revision = ctx.engine->SetExpiry(op.ns(), op.key(), next);
  if (!revision.ok()) return SetError(revision.status(), result);
  result->set_revision(*revision);
}

void ApplyFlush(OpContext& ctx, const Op& op, OpResult* result) {
  absl::StatusOr<uint64_t> revision = ctx.engine->Flush(op.ns());
  if (!revision.ok()) return SetError(revision.status(), result);
  result->set_revision(*revision);
}

void ApplyScan(OpContext& ctx, const Op& op, OpResult* result) {
  engine::ScanOptions options;
  options.start_after = op.start_after();
  options.start_inclusive = op.start_inclusive();
  options.prefix = op.prefix();
  options.limit = op.limit() == 0 ? 100 : op.limit();
  options.max_examined = options.limit * 10;
  if (!op.pattern().empty()) {
    std::string pattern = op.pattern();
    options.filter = [pattern](std::string_view key) { return GlobMatch(pattern, key); };
  }
  absl::StatusOr<engine::ScanResult> scan = ctx.engine->Scan(op.ns(), options);
  if (!scan.ok()) return SetError(scan.status(), result);
  for (std::string& key : scan->keys) result->add_keys(std::move(key));
  result->set_more(scan->more);
  result->set_last_key(std::move(scan->last_key));
}

void ApplyRandomKey(OpContext& ctx, const Op& op, OpResult* result) {
  absl::StatusOr<std::string> key = ctx.engine->RandomKey(op.ns());
  if (!key.ok()) return SetError(key.status(), result);
  result->add_keys(std::move(*key));
}

void ApplyRename(OpContext& ctx, const Op& op, OpResult* result) {
  absl::StatusOr<engine::RenameResult> renamed = ctx.engine->Rename(
      op.ns(), op.key(), op.new_key(), op.condition() == Op::IF_ABSENT);
  if (!renamed.ok()) return SetError(renamed.status(), result);
  if (renamed->condition_failed) result->set_code(OpResult::CONDITION_FAILED);
  result->set_revision(renamed->revision);
}

void ApplyReclaim(OpContext& ctx, const Op&, OpResult*) { ctx.engine->RequestReclaim(); }

void ApplyStats(OpContext& ctx, const Op&, OpResult* result) {
  engine::EngineStats stats = ctx.engine->Stats();
  v1::ShardStats* out = result->mutable_stats();
  for (const engine::NamespaceStats& ns : stats.namespaces) {
    v1::NamespaceStats* n = out->add_namespaces();
    n->set_ns(ns.ns);
    n->set_keys(ns.keys);
    n->set_expires(ns.expires);
    n->set_live_bytes(ns.live_bytes);
    n->set_log_bytes(ns.log_bytes);
    n->set_sealed_segments(ns.sealed_segments);
  }
  out->set_cache_hits(stats.cache_hits);
  out->set_cache_misses(stats.cache_misses);
  out->set_cache_bytes(stats.cache_bytes);
  out->set_cache_budget_bytes(stats.cache_budget_bytes);
  out->set_reclaim_runs(stats.reclaim_runs);
  out->set_corrupt_records(stats.corrupt_records);
  out->set_index_bytes(stats.index_bytes);
  out->set_expired_keys(stats.expired_keys);
  out->set_commands(ctx.ops_executed);
  out->set_io_uring(stats.io_uring ? 1 : 0);
  out->set_inline_appends(stats.inline_appends ? 1 : 0);
}

void ApplyMget(OpContext& ctx, const Op& op, OpResult* result) {
  // One answer per key, in order: absent keys stay not found with an empty value.
  const int count = op.keys_size();
  result->mutable_found()->Resize(count, false);
  for (int i = 0; i < count; ++i) result->add_values();
  const absl::Status read = ctx.engine->MultiGet(
      op.ns(), count, [&op](size_t i) -> std::string_view { return op.keys(static_cast<int>(i)); },
      [result](size_t i, std::string_view value) {
        result->set_found(static_cast<int>(i), true);
        result->mutable_values(static_cast<int>(i))->assign(value.data(), value.size());
      });
  if (!read.ok()) {
    result->clear_values();
    result->clear_found();
    return SetError(read, result);
  }
}

void ApplyMput(OpContext& ctx, const Op& op, OpResult* result) {
  if (op.keys_size() != op.values_size()) return Invalid("MPUT needs one value per key", result);
  for (int i = 0; i < op.keys_size(); ++i) {
    absl::StatusOr<engine::PutResult> put =
        ctx.engine->Put(op.ns(), op.keys(i), op.values(i), engine::PutOptions{});
    if (!put.ok()) return SetError(put.status(), result);
    result->set_revision(put->revision);
  }
}

void ApplyMdelete(OpContext& ctx, const Op& op, OpResult* result) {
  int64_t deleted = 0;
  for (const std::string& key : op.keys()) {
    absl::StatusOr<engine::DeleteResult> d =
        ctx.engine->Delete(op.ns(), key, engine::DeleteOptions{}, nullptr);
    if (!d.ok()) return SetError(d.status(), result);
    if (d->deleted) ++deleted;
  }
  result->set_count(deleted);
}

void ApplyMexists(OpContext& ctx, const Op& op, OpResult* result) {
  int64_t present = 0;
  for (const std::string& key : op.keys()) {
    absl::StatusOr<bool> exists = ctx.engine->Exists(op.ns(), key);
    if (!exists.ok()) return SetError(exists.status(), result);
    if (*exists) ++present;
  }
  result->set_count(present);
}

const std::vector<OpRow>& Table() {
  static const std::vector<OpRow>* table = new std::vector<OpRow>{
      {Op::GET, "GET", false, ReadGet, ApplyGet},
      {Op::PUT, "PUT", true, ReadPut, ApplyPut},
      {Op::DELETE, "DELETE", true, ReadDelete, ApplyDelete},
      {Op::EXISTS, "EXISTS", false, ReadExists, ApplyExists},
      {Op::DBSIZE, "DBSIZE", false, nullptr, ApplyDbSize},
      {Op::PING, "PING", false, nullptr, ApplyPing},
      {Op::INCR, "INCR", true, ReadKeyValue, ApplyReadModifyWrite},
      {Op::INCR_FLOAT, "INCR_FLOAT", true, ReadKeyValue, ApplyReadModifyWrite},
      {Op::APPEND, "APPEND", true, ReadKeyValue, ApplyReadModifyWrite},
      {Op::SETRANGE, "SETRANGE", true, ReadKeyValue, ApplyReadModifyWrite},
      {Op::EXPIRE, "EXPIRE", true, ReadExpire, ApplyExpire},
      {Op::FLUSH, "FLUSH", true, nullptr, ApplyFlush},
      {Op::SCAN, "SCAN", false, nullptr, ApplyScan},
      {Op::RANDOM_KEY, "RANDOM_KEY", false, nullptr, ApplyRandomKey},
      {Op::RENAME, "RENAME", true, ReadKeyValue, ApplyRename},
      {Op::RECLAIM, "RECLAIM", false, nullptr, ApplyReclaim},
      {Op::STATS, "STATS", false, nullptr, ApplyStats},
      {Op::MGET, "MGET", false, ReadMget, ApplyMget},
      {Op::MPUT, "MPUT", true, ReadMwrite, ApplyMput},
      {Op::MDELETE, "MDELETE", true, ReadMwrite, ApplyMdelete},
      {Op::MEXISTS, "MEXISTS", false, ReadMexists, ApplyMexists},
      {Op::BITS, "BITS", true, ReadKeyValue, ApplyBits},
      {Op::CHECK_REVISION, "CHECK_REVISION", false, ReadRevision, ApplyCheckRevision},
  };
  return *table;
}

}  // namespace

const OpRow* FindOp(v1::Op::Type type) {
  // Rows are in type order starting at 1 (GET), so a type indexes its row directly.
  const std::vector<OpRow>& table = Table();
  const int i = static_cast<int>(type) - 1;
  if (i < 0 || i >= static_cast<int>(table.size()) || table[i].type != type) return nullptr;
  return &table[i];
}

bool IsMutation(v1::Op::Type type) {
  const OpRow* row = FindOp(type);
  return row != nullptr && row->mutates;
}

void AddReadAheadKeys(const v1::Op& op, std::vector<engine::ReadAheadKey>* keys) {
  const OpRow* row = FindOp(op.type());
  if (row != nullptr && row->read_ahead != nullptr) row->read_ahead(op, keys);
}

void ApplyOp(OpContext& ctx, const v1::Op& op, v1::OpResult* result) {
  const OpRow* row = FindOp(op.type());
  if (row == nullptr) return Invalid("unknown op type " + std::to_string(op.type()), result);
  row->apply(ctx, op, result);
}

void ApplyBatch(OpContext& ctx, const v1::BatchRequest& request, v1::BatchResponse* response) {
  ctx.engine->ObserveRevision(request.observed_revision());
  uint64_t aborted_txn = 0;
  for (const Op& op : request.ops()) {
    OpResult* result = response->add_results();
    if (op.txn() != 0 && op.txn() == aborted_txn) {
      result->set_code(OpResult::CONDITION_FAILED);
      result->set_reason(OpResult::TXN_ABORTED);
      result->set_message("transaction aborted: a WATCHed key changed");
      continue;
    }
    ApplyOp(ctx, op, result);
    ++ctx.ops_executed;
    if (op.type() == Op::CHECK_REVISION && op.txn() != 0 && result->code() != OpResult::OK) {
      aborted_txn = op.txn();
    }
  }
}

}  // namespace beyondkv::shard
