#include "services/kv-shard/engine_worker.h"

#include <glog/logging.h>

#include <utility>

#include "absl/time/time.h"

namespace beyondkv::shard {
namespace {

using v1::Op;
using v1::OpResult;

// How often an idle engine thread wakes up for periodic work (the everysec fdatasync).
constexpr absl::Duration kIdleWakeup = absl::Milliseconds(100);

bool IsMutation(Op::Type type) { return type == Op::PUT || type == Op::DELETE; }

// Maps an engine status to the wire result code. The message travels to the gateway, which
// turns it into a RESP error.
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

engine::PutOptions::Condition ToCondition(Op::Condition condition) {
  switch (condition) {
    case Op::IF_ABSENT:
      return engine::PutOptions::Condition::kIfAbsent;
    case Op::IF_PRESENT:
      return engine::PutOptions::Condition::kIfPresent;
    default:
      return engine::PutOptions::Condition::kAlways;
  }
}

}  // namespace

EngineWorker::EngineWorker(std::unique_ptr<engine::Engine> engine) : engine_(std::move(engine)) {}

EngineWorker::~EngineWorker() { Stop(); }

void EngineWorker::Start() { thread_ = std::thread([this] { Loop(); }); }

void EngineWorker::Submit(const v1::BatchRequest* request, v1::BatchResponse* response,
                          Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push_back(Call{request, response, std::move(done)});
      return;
    }
  }
  for (int i = 0; i < request->ops_size(); ++i) {
    OpResult* result = response->add_results();
    result->set_code(OpResult::INTERNAL);
    result->set_message("shard is shutting down");
  }
  done();
}

void EngineWorker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void EngineWorker::Loop() {
  std::vector<Call> calls;
  while (true) {
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&has_work), kIdleWakeup);
      calls.swap(queue_);
      if (stopping_ && calls.empty()) {
        stopped_ = true;
        stop = true;
      }
    }
    if (!calls.empty()) {
      for (Call& call : calls) {
        for (const Op& op : call.request->ops()) ApplyOp(op, call.response->add_results());
      }
      // Group commit: one write per namespace for everything applied above.
      absl::Status committed = engine_->Commit();
      if (!committed.ok()) {
        LOG(ERROR) << "commit failed, failing the batch's writes: " << committed;
        for (Call& call : calls) {
          for (int i = 0; i < call.request->ops_size(); ++i) {
            if (!IsMutation(call.request->ops(i).type())) continue;
            OpResult* result = call.response->mutable_results(i);
            result->Clear();
            result->set_code(OpResult::INTERNAL);
            result->set_message("write failed: " + std::string(committed.message()));
          }
        }
      }
      for (Call& call : calls) call.done();
      calls.clear();
    }
    if (absl::Status synced = engine_->MaybeSyncPeriodic(); !synced.ok()) {
      LOG(ERROR) << "periodic fdatasync failed: " << synced;
    }
    if (stop) break;
  }
  if (absl::Status synced = engine_->SyncAll(); !synced.ok()) {
    LOG(ERROR) << "final sync failed: " << synced;
  }
}

void EngineWorker::ApplyOp(const Op& op, OpResult* result) {
  switch (op.type()) {
    case Op::GET: {
      absl::StatusOr<engine::Entry> entry = engine_->Get(op.ns(), op.key());
      if (!entry.ok()) return SetError(entry.status(), result);
      result->set_value(std::move(entry->value));
      result->set_revision(entry->revision);
      result->set_expire_at_ms(entry->expire_at_ms);
      return;
    }
    case Op::PUT: {
      engine::PutOptions options;
      options.condition = ToCondition(op.condition());
      options.expire_at_ms = op.expire_at_ms();
      options.keep_ttl = op.keep_ttl();
      std::string old_value;
      absl::StatusOr<engine::PutResult> put = engine_->Put(
          op.ns(), op.key(), op.value(), options, op.return_old() ? &old_value : nullptr);
      if (!put.ok()) return SetError(put.status(), result);
      if (!put->written) result->set_code(OpResult::CONDITION_FAILED);
      result->set_revision(put->revision);
      if (op.return_old()) {
        result->set_has_old(put->had_old);
        result->set_value(std::move(old_value));
      }
      return;
    }
    case Op::DELETE: {
      absl::StatusOr<bool> deleted = engine_->Delete(op.ns(), op.key());
      if (!deleted.ok()) return SetError(deleted.status(), result);
      if (!*deleted) result->set_code(OpResult::NOT_FOUND);
      return;
    }
    case Op::EXISTS: {
      absl::StatusOr<bool> exists = engine_->Exists(op.ns(), op.key());
      if (!exists.ok()) return SetError(exists.status(), result);
      if (!*exists) result->set_code(OpResult::NOT_FOUND);
      return;
    }
    case Op::DBSIZE: {
      absl::StatusOr<uint64_t> count = engine_->KeyCount(op.ns());
      if (!count.ok()) return SetError(count.status(), result);
      result->set_count(static_cast<int64_t>(*count));
      return;
    }
    case Op::PING:
      return;
    default:
      result->set_code(OpResult::INVALID_ARGUMENT);
      result->set_message("unknown op type " + std::to_string(op.type()));
      return;
  }
}

}  // namespace beyondkv::shard
