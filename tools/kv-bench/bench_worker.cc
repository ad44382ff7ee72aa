#include "tools/kv-bench/bench_worker.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <random>

namespace beyondkv::kvbench {
namespace {

constexpr int kMaxEvents = 256;
constexpr int64_t kNsPerSec = 1000000000;

void SleepUntil(int64_t deadline_ns) {
  const timespec ts{static_cast<time_t>(deadline_ns / kNsPerSec),
                    static_cast<long>(deadline_ns % kNsPerSec)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace

void CommandStats::Merge(const CommandStats& other) {
  latency_ns.Merge(other.latency_ns);
  scheduled += other.scheduled;
  error_replies += other.error_replies;
  failed += other.failed;
  unfinished += other.unfinished;
  replies_in_window += other.replies_in_window;
}

void WorkerStats::Merge(const WorkerStats& other) {
  for (int i = 0; i < kNumCommands; ++i) commands[i].Merge(other.commands[i]);
  connection_failures += other.connection_failures;
  if (first_error.empty()) first_error = other.first_error;
}

BenchWorker::BenchWorker(std::vector<std::unique_ptr<Connection>> connections,
                         const WorkerOptions& options)
    : options_(options), generator_(options.workload, options.seed) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  for (auto& conn : connections) {
    auto slot = std::make_unique<Slot>();
    slot->conn = std::move(conn);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = slot.get();
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, slot->conn->fd(), &ev);
    slots_.push_back(std::move(slot));
  }
  live_ = static_cast<int>(slots_.size());
}

BenchWorker::~BenchWorker() { close(epoll_fd_); }

void BenchWorker::MarkDirty(Slot* slot) {
  if (slot->dirty || slot->dead) return;
  slot->dirty = true;
  dirty_.push_back(slot);
}

void BenchWorker::Fill(Slot* slot, int64_t now_ns) {
  std::string* out = slot->conn->out();
  const size_t pipeline = static_cast<size_t>(options_.pipeline);
  switch (phase_) {
    case Phase::kOpen:
      while (!slot->queued.empty() && slot->in_flight.size() < pipeline) {
        const InFlight request = slot->queued.front();
        slot->queued.pop_front();
        generator_.AppendRequest(request.command, out);
        slot->in_flight.push_back(request);
      }
      break;
    case Phase::kClosed:
      while (slot->in_flight.size() < pipeline && now_ns < closed_send_until_ns_) {
        const Command command = generator_.ChooseCommand();
        generator_.AppendRequest(command, out);
        slot->in_flight.push_back({now_ns, command});
        if (InWindow(now_ns)) ++stats_.commands[static_cast<int>(command)].scheduled;
        ++outstanding_;
      }
      break;
    case Phase::kLoad:
      while (slot->in_flight.size() < pipeline && slot->load_next < slot->load_end) {
        const int64_t count = std::min<int64_t>(load_batch_keys_, slot->load_end - slot->load_next);
        const Command command = generator_.AppendLoad(slot->load_next, count, out);
        slot->load_next += count;
        slot->in_flight.push_back({now_ns, command});
        ++stats_.commands[static_cast<int>(command)].scheduled;
        ++outstanding_;
      }
      break;
  }
}

void BenchWorker::SendDirty(int64_t now_ns) {
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Slot* slot = dirty_[i];
    slot->dirty = false;
    if (slot->dead) continue;
    Fill(slot, now_ns);
    if (absl::Status s = slot->conn->Flush(); !s.ok()) {
      FailSlot(slot, s.ToString());
      continue;
    }
    const bool want_write = slot->conn->HasPendingOutput();
    if (want_write != slot->write_armed) {
      epoll_event ev{};
      ev.events = want_write ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      ev.data.ptr = slot;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, slot->conn->fd(), &ev);
      slot->write_armed = want_write;
    }
  }
  dirty_.clear();
}

void BenchWorker::Poll(int64_t timeout_ns) {
  epoll_event events[kMaxEvents];
  timespec ts{};
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / kNsPerSec);
    ts.tv_nsec = static_cast<long>(timeout_ns % kNsPerSec);
  }
  const int n =
      epoll_pwait2(epoll_fd_, events, kMaxEvents, timeout_ns >= 0 ? &ts : nullptr, nullptr);
  for (int i = 0; i < n; ++i) {
    Slot* slot = static_cast<Slot*>(events[i].data.ptr);
    if (slot->dead) continue;
    if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      absl::Status s = slot->conn->ReadReplies(
          [&](bool is_error, int64_t received_ns) { OnReply(slot, is_error, received_ns); });
      if (slot->bad_reply) s = absl::DataLossError("reply without a request");
      if (!s.ok()) {
        FailSlot(slot, s.ToString());
        continue;
      }
    }
    if (events[i].events & EPOLLOUT) MarkDirty(slot);  // SendDirty flushes and re-arms.
  }
}

void BenchWorker::OnReply(Slot* slot, bool is_error, int64_t received_ns) {
  if (slot->in_flight.empty()) {
    slot->bad_reply = true;
    return;
  }
  const InFlight request = slot->in_flight.front();
  slot->in_flight.pop_front();
  --outstanding_;
  CommandStats& stats = stats_.commands[static_cast<int>(request.command)];
  if (InWindow(received_ns)) ++stats.replies_in_window;
  if (InWindow(request.start_ns)) {
    stats.latency_ns.Record(received_ns - request.start_ns);
    if (is_error) {
      ++stats.error_replies;
      if (stats_.first_error.empty()) {
        stats_.first_error =
            std::string(CommandName(request.command)) + ": " + slot->conn->last_error_reply();
      }
    }
  }
  MarkDirty(slot);
}

void BenchWorker::FailSlot(Slot* slot, const std::string& reason) {
  for (const auto* queue : {&slot->queued, &slot->in_flight}) {
    for (const InFlight& r : *queue) {
      if (InWindow(r.start_ns)) ++stats_.commands[static_cast<int>(r.command)].failed;
    }
    outstanding_ -= static_cast<int64_t>(queue->size());
  }
  slot->queued.clear();
  slot->in_flight.clear();
  slot->load_next = slot->load_end;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, slot->conn->fd(), nullptr);
  slot->conn.reset();
  slot->dead = true;
  --live_;
  ++stats_.connection_failures;
  if (stats_.first_error.empty()) stats_.first_error = "connection failed: " + reason;
}

BenchWorker::Slot* BenchWorker::LeastLoadedSlot() {
  // A linear scan: a few ns per connection, negligible next to a request's system calls.
  Slot* best = nullptr;
  size_t best_load = 0;
  const size_t n = slots_.size();
  for (size_t i = 0; i < n; ++i) {
    Slot* slot = slots_[(next_slot_ + i) % n].get();
    if (slot->dead) continue;
    const size_t load = slot->queued.size() + slot->in_flight.size();
    if (best == nullptr || load < best_load) {
      best = slot;
      best_load = load;
      if (load == 0) break;
    }
  }
  next_slot_ = (next_slot_ + 1) % n;
  return best;
}

bool BenchWorker::AnySlotCanSend() const {
  const size_t pipeline = static_cast<size_t>(options_.pipeline);
  return std::any_of(slots_.begin(), slots_.end(), [&](const auto& slot) {
    return !slot->dead && slot->queued.empty() && slot->in_flight.size() < pipeline;
  });
}

void BenchWorker::RecordUnfinished(int64_t now_ns) {
  for (auto& slot : slots_) {
    for (const auto* queue : {&slot->queued, &slot->in_flight}) {
      for (const InFlight& r : *queue) {
        if (!InWindow(r.start_ns)) continue;
        CommandStats& stats = stats_.commands[static_cast<int>(r.command)];
        stats.latency_ns.Record(now_ns - r.start_ns);
        ++stats.unfinished;
      }
    }
  }
}

WorkerStats BenchWorker::Load(int64_t first, int64_t end, int batch_keys) {
  phase_ = Phase::kLoad;
  stats_ = WorkerStats();
  window_begin_ns_ = std::numeric_limits<int64_t>::min();
  window_end_ns_ = std::numeric_limits<int64_t>::max();
  load_batch_keys_ = std::max(batch_keys, 1);
  const int64_t n = static_cast<int64_t>(slots_.size());
  for (int64_t i = 0; i < n; ++i) {
    Slot* slot = slots_[i].get();
    slot->load_next = first + (end - first) * i / n;
    slot->load_end = first + (end - first) * (i + 1) / n;
    MarkDirty(slot);
  }
  while (true) {
    SendDirty(MonotonicNowNs());
    const bool more = std::any_of(slots_.begin(), slots_.end(), [](const auto& s) {
      return !s->dead && s->load_next < s->load_end;
    });
    if (live_ == 0 || (outstanding_ == 0 && !more)) break;
    Poll(-1);
  }
  return stats_;
}

WorkerStats BenchWorker::Run(const Schedule& schedule) {
  // Wake-ups at the scheduled times, not up to the default 50 us later.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  phase_ = options_.closed_loop ? Phase::kClosed : Phase::kOpen;
  stats_ = WorkerStats();
  window_begin_ns_ = schedule.measure_begin_ns;
  window_end_ns_ = schedule.measure_end_ns;
  closed_send_until_ns_ = schedule.measure_end_ns;

  std::mt19937_64 arrival_rng(options_.seed * 0x2545f4914f6cdd1dULL + 1);
  std::exponential_distribution<double> gap_ns(
      options_.rate_per_sec > 0 ? options_.rate_per_sec / kNsPerSec : 1.0);
  const bool open = phase_ == Phase::kOpen;
  double next_arrival = open && options_.rate_per_sec > 0
                            ? static_cast<double>(schedule.start_ns) + gap_ns(arrival_rng)
                            : static_cast<double>(std::numeric_limits<int64_t>::max());

  SleepUntil(schedule.start_ns);
  if (!open) {
    for (auto& slot : slots_) MarkDirty(slot.get());
  }
  while (true) {
    const int64_t now = MonotonicNowNs();
    if (open) {
      while (next_arrival <= static_cast<double>(now) &&
             next_arrival < static_cast<double>(schedule.measure_end_ns)) {
        Slot* slot = LeastLoadedSlot();
        if (slot == nullptr) break;
        const InFlight request{static_cast<int64_t>(next_arrival), generator_.ChooseCommand()};
        slot->queued.push_back(request);
        if (InWindow(request.start_ns))
          ++stats_.commands[static_cast<int>(request.command)].scheduled;
        ++outstanding_;
        MarkDirty(slot);
        next_arrival += gap_ns(arrival_rng);
      }
    }
    SendDirty(now);
    const bool scheduling_done = now >= schedule.measure_end_ns;
    if (live_ == 0 || (scheduling_done && outstanding_ == 0) || now >= schedule.drain_end_ns) {
      break;
    }
    int64_t deadline = schedule.drain_end_ns;
    if (!scheduling_done) {
      deadline = schedule.measure_end_ns;
      // When every connection is full, the next arrival could not be sent anyway: wait for a
      // reply instead of waking for it. Its scheduled time (and so its latency) is unchanged;
      // this only keeps an overloaded run from spending CPU the server under test needs.
      if (open && next_arrival < static_cast<double>(deadline) && AnySlotCanSend()) {
        deadline = static_cast<int64_t>(next_arrival);
      }
    }
    Poll(std::max<int64_t>(deadline - now, 0));
  }
  RecordUnfinished(MonotonicNowNs());
  return stats_;
}

}  // namespace beyondkv::kvbench
