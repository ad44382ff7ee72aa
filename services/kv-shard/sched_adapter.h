// The decision behind the shard's adaptive CPU scheduling (kv-shard --sched-policy adaptive,
// EngineWorker::SetAdaptiveScheduling; the policies: common/process.h).
//
// SCHED_BATCH keeps a shard woken for a batch from preempting the running thread (the gateway,
// mostly): fewer context switches and larger batches when batches are small. A batch that
// takes long to apply (MGET of 100 keys at 64 connections: 5-37 µs per batch on this project's
// VMs, against under 1 µs for GETs and 1-12 µs for SETs) is what many commands wait for, and
// is better started at once: SCHED_OTHER. SchedAdapter follows a moving average of the apply
// time (each batch weighs 1/8) and answers which policy the engine thread should have, with
// hysteresis so that a mixed load does not flip it every batch.
//
// Thread contract: one owner (the engine thread); no locking.
#ifndef BEYONDKV_SERVICES_KV_SHARD_SCHED_ADAPTER_H_
#define BEYONDKV_SERVICES_KV_SHARD_SCHED_ADAPTER_H_

#include <cstdint>

namespace beyondkv::shard {

class SchedAdapter {
 public:
  // Above this average (ns) a thread under SCHED_BATCH should move to SCHED_OTHER...
  static constexpr int64_t kLongBatchNs = 16'000;
  // ...and below this one move back.
  static constexpr int64_t kShortBatchNs = 8'000;

  // Records one batch's apply time (ns). Returns whether the policy should change now; the
  // caller makes the change and then calls Switched().
  bool Observe(int64_t apply_ns) {
    average_ns_ += (apply_ns - average_ns_) / 8;
    return batch_ ? average_ns_ > kLongBatchNs : average_ns_ < kShortBatchNs;
  }
  // The policy changed as Observe() asked.
  void Switched() { batch_ = !batch_; }

  // Whether the thread is (as far as this adapter knows) under SCHED_BATCH; it starts so.
  bool batch() const { return batch_; }
  int64_t average_ns() const { return average_ns_; }

 private:
  bool batch_ = true;
  int64_t average_ns_ = 0;
};

}  // namespace beyondkv::shard

#endif  // BEYONDKV_SERVICES_KV_SHARD_SCHED_ADAPTER_H_
