// LogEngine's background duties (RunBackgroundWork): the everysec fdatasync, the expiry sweep,
// hint files for sealed segments and reclaim. The design is in log_engine.h; the on-disk
// protocol of reclaim and its crash analysis in FORMAT.md "Reclaim".
#include <glog/logging.h>

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log_engine.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"

namespace beyondkv::engine {
namespace {

constexpr int64_t kPeriodicSyncIntervalUs = 1'000'000;

// Time one RunBackgroundWork() call may spend on the sweep (at most; the call's whole budget
// covers the sweep, reclaim and hint files, fdatasyncs excepted).
constexpr absl::Duration kSweepBudget = absl::Microseconds(500);

// The expiry sweep examines at most this many keys per call (about 0.5 ms of B-tree walk)
// and reads the clock every kSweepClockEvery keys.
constexpr size_t kSweepMaxKeys = 20'000;
constexpr size_t kSweepClockEvery = 256;

// Reclaim buffers this many output bytes before writing them.
constexpr size_t kReclaimWriteChunk = 1 << 20;

// Automatic reclaim waits until at least 1/kAutoReclaimGarbageShare of the sealed bytes is
// garbage: each run then rewrites at most twice the bytes it frees, and sealed segments use
// at most 1.5 times the space of their live records in the steady state.
constexpr uint64_t kAutoReclaimGarbageShare = 3;

}  // namespace

absl::Status LogEngine::RunBackgroundWork(absl::Duration budget) {
  DCHECK(OnEngineThread());
  // Nothing may move under a commit or reads in flight (their buffers and offsets).
  if (commit_in_flight_ || read_ahead_pending_ > 0) return absl::OkStatus();
  absl::Status first_error = MaybeSyncPeriodic();
  if (!first_error.ok()) LOG(ERROR) << "periodic fdatasync failed: " << first_error;
  for (const Namespace& n : namespaces_) {
    // Between batches only: the undo log of a batch must not see entries move under it.
    if (!n.undo.empty()) return first_error;
  }
  const absl::Time start = absl::Now();  // the budget leaves the fdatasync out
  step_units_ = 0;
  SweepExpired(start + std::min(kSweepBudget, budget));
  // The sweep's tombstones are a batch of their own.
  if (absl::Status s = Commit(); !s.ok() && first_error.ok()) first_error = s;
  ScheduleReclaim();
  const absl::Time deadline = start + budget;
  if (absl::Status s = ReclaimStep(deadline); !s.ok() && first_error.ok()) first_error = s;
  if (absl::Status s = HintStep(deadline); !s.ok() && first_error.ok()) first_error = s;
  return first_error;
}

bool LogEngine::background_pending() const {
  if (reclaim_.has_value() || !reclaim_queue_.empty() || reclaim_requested_ ||
      hint_job_.has_value()) {
    return true;
  }
  // Not a walk over every sealed segment (this is asked between batches): whether the last
  // look for a hint to build found none since when nothing was sealed. A hint that falls due
  // by time alone (Options::hint_delay_secs) waits for the owner's idle interval.
  return !hint_selection_empty_;
}

bool LogEngine::HintDue(uint32_t ns, uint64_t sequence, const SealedSegment& segment,
                        int64_t now_us) const {
  if (segment.hinted || segment.hint_failed || segment.sync_pending) return false;
  if (ReclaimInput(ns, sequence)) return false;  // going
  const Namespace& n = namespaces_[ns];
  // The newest sealed segment of a namespace being written waits: its records are the
  // likeliest to be overwritten, and once none is live reclaim drops it unread (below).
  // Until its hint is written, recovery scans it: one segment more.
  if (segment.sealed_at_us != 0 && sequence == n.sealed.rbegin()->first &&
      now_us - segment.sealed_at_us < options_.hint_delay_secs * 1'000'000) {
    return false;
  }
  // All garbage, and automatic reclaim will drop it without reading it: a hint is wasted.
  if (options_.reclaim_sealed_threshold > 0 && segment.max_revision != 0 &&
      n.index.SegmentLiveBytes(sequence) == 0) {
    return false;
  }
  return true;
}

bool LogEngine::StepDone(absl::Time deadline, uint32_t clock_every) {
  ++step_units_;
  if (step_unit_limit_ != 0) return step_units_ >= step_unit_limit_;
  if (step_units_ % clock_every != 0) return false;
  return absl::Now() >= deadline;
}

void LogEngine::RequestReclaim() {
  DCHECK(OnEngineThread());
  reclaim_requested_ = true;
}

absl::Status LogEngine::MaybeSyncPeriodic() {
  if (options_.fsync != FsyncPolicy::kEverySec) return absl::OkStatus();
  const int64_t now = NowUs();
  if (now - last_periodic_sync_us_ < kPeriodicSyncIntervalUs) return absl::OkStatus();
  last_periodic_sync_us_ = now;
  if (ring_ == nullptr) return SyncAll();
  // Through the ring: the engine thread goes on serving while the fdatasyncs run. One at a
  // time per writer; a writer that flushed since its sync started stays dirty.
  if (periodic_syncs_pending_ > 0) return absl::OkStatus();
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    SegmentWriter* writer = namespaces_[ns].active.get();
    if (writer == nullptr || !writer->needs_sync() || !writer->status().ok()) continue;
    File* file = writer->file();
    if (file == nullptr) continue;
    if (file->fd() < 0) {
      if (absl::Status s = writer->Sync(); !s.ok()) return s;
      continue;
    }
    const uint64_t sequence = writer->sequence();
    const uint64_t generation = writer->flush_generation();
    ++periodic_syncs_pending_;
    ring_->DataSync(file->fd(), [this, ns, sequence, generation](int result) {
      --periodic_syncs_pending_;
      const absl::Status status =
          result < 0 ? absl::ErrnoToStatus(-result, "periodic fdatasync") : absl::OkStatus();
      SegmentWriter* now_active = namespaces_[ns].active.get();
      if (now_active != nullptr && now_active->sequence() == sequence) {
        now_active->EndSync(generation, status);
      } else if (!status.ok()) {
        // The segment was sealed meanwhile (sealing fdatasyncs it again, blocking).
        LOG(ERROR) << "namespace " << ns << ", segment " << sequence << ": " << status;
      }
    });
  }
  return absl::OkStatus();
}

// ---- Expiry sweep ---------------------------------------------------------------------------

void LogEngine::SweepExpired(absl::Time deadline) {
  const int64_t now_ms = NowMs();
  size_t examined = 0;
  for (uint32_t i = 0; i < kNamespaceCount && examined < kSweepMaxKeys; ++i) {
    const uint32_t ns = (sweep_ns_ + i) % kNamespaceCount;
    Namespace& n = namespaces_[ns];
    if (n.index.expires() == 0) {
      n.sweep_cursor.clear();
      continue;
    }
    auto it = n.index.LowerBound(n.sweep_cursor);
    while (it != n.index.end()) {
      if (examined >= kSweepMaxKeys ||
          (examined % kSweepClockEvery == 0 && examined > 0 && absl::Now() >= deadline)) {
        n.sweep_cursor = it->first;  // resume here
        sweep_ns_ = ns;
        return;
      }
      ++examined;
      if (it->second.LiveAt(now_ms)) {
        ++it;
      } else {
        const std::string key = it->first;
        ExpireKey(ns, key);  // stages a tombstone, erasing the entry
        it = n.index.LowerBound(key);
      }
    }
    n.sweep_cursor.clear();  // a full pass over this namespace: the next one starts over
  }
  sweep_ns_ = (sweep_ns_ + 1) % kNamespaceCount;
}

// ---- Hint files -----------------------------------------------------------------------------

absl::Status LogEngine::HintStep(absl::Time deadline) {
  if (hint_write_in_flight_) return absl::OkStatus();  // one hint file at a time
  if (!hint_job_.has_value()) {
    const int64_t now_us = NowUs();
    for (uint32_t ns = 0; ns < kNamespaceCount && !hint_job_.has_value(); ++ns) {
      for (const auto& [sequence, segment] : namespaces_[ns].sealed) {
        if (HintDue(ns, sequence, segment, now_us)) {
          // Not emplace(): clang 14 (the fuzzers' compiler) finds HintJob not default-
          // constructible there, having checked while LogEngine was incomplete.
          hint_job_.emplace(HintJob{});
          hint_job_->ns = ns;
          hint_job_->sequence = sequence;
          hint_job_->offset = kSegmentHeaderSize;
          // The segment's size bounds the hint (address space; only what is written is
          // touched), so building it never copies it.
          hint_builder_.Reset();
          hint_builder_.ReserveForSegment(segment.size);
          break;
        }
      }
    }
    if (!hint_job_.has_value()) {
      hint_selection_empty_ = true;
      if (hint_builder_.capacity_bytes() > kHintMemoryKept &&
          absl::Now() - last_hint_done_ > kHintMemoryIdle) {
        hint_builder_.Release();
      }
      return absl::OkStatus();
    }
  }
  HintJob& job = *hint_job_;
  Namespace& n = namespaces_[job.ns];
  auto segment = n.sealed.find(job.sequence);
  if (segment == n.sealed.end() || ReclaimInput(job.ns, job.sequence)) {
    hint_job_.reset();  // reclaimed meanwhile
    return absl::OkStatus();
  }
  File* const file = segment->second.file.get();
  File* source = file;
  if (ring_ != nullptr && file->fd() >= 0) {
    // Scan a window read ahead through the ring; a read past it ends this call.
    if (job.window == nullptr) job.window = std::make_shared<SegmentWindow>(*file, segment->second.size);
    if (job.window->in_flight()) return absl::OkStatus();
    source = job.window.get();
  }
  SegmentReader reader(source, job.offset, segment->second.size);
  // Records go to the builder in runs (HintBuilder::AddBatch overlaps their lookups); the run
  // is added before every return that keeps the job, so job.offset never passes a record
  // that was not added.
  std::vector<ScannedRecord>& run = job.run;
  if (run.empty()) run.resize(kHintRun);
  size_t pending = 0;
  auto add_run = [&] {
    hint_builder_.AddBatch(run.data(), pending);
    pending = 0;
  };
  for (;;) {
    ScannedRecord& record = run[pending];
    absl::StatusOr<SegmentReader::Result> result = reader.Next(&record);
    if (!result.ok() && source != file && SegmentWindow::IsMiss(result.status())) {
      if (!job.window->error().ok()) {
        result = job.window->error();  // the last window read failed: a read error
      } else {
        add_run();
        // From where the next call resumes (job.offset) to past the read that missed.
        StartWindowRead(job.window, file->fd(), job.offset,
                        job.window->miss_offset() + job.window->miss_bytes() - job.offset,
                        segment->second.size);
        return absl::OkStatus();
      }
    }
    if (!result.ok()) {
      hint_job_.reset();
      segment->second.hint_failed = true;
      return result.status();
    }
    if (*result == SegmentReader::Result::kEnd) {
      add_run();
      return FinishHint();
    }
    if (*result == SegmentReader::Result::kRecord) {
      if (++pending == run.size()) add_run();
      job.offset = reader.offset();
    } else {
      // Damage in a sealed segment: skipped by the scan's rule (segment_reader.h), as
      // recovery skips it; the hint counts it so recovery from the hint counts it too.
      ++job.corrupt_records;
      ++corrupt_records_;
      LOG(ERROR) << segment->second.file->path() << ": " << DescribeDamage(reader.damage())
                 << "; left out of its hint file";
      job.offset = reader.offset();
    }
    if (StepDone(deadline, kHintRun)) {
      add_run();
      return absl::OkStatus();
    }
  }
}

absl::Status LogEngine::FinishHint() {
  HintJob job = std::move(*hint_job_);
  hint_job_.reset();
  SealedSegment& segment = namespaces_[job.ns].sealed.at(job.sequence);
  HintHeader header;
  header.format_version = kFormatVersion;
  header.shard_id = options_.shard_id;
  header.ns = job.ns;
  header.corrupt_records = job.corrupt_records;
  header.sequence = job.sequence;
  header.segment_size = segment.size;
  const std::string path = absl::StrCat(NamespaceDir(job.ns), "/", HintFileName(job.sequence));
  const size_t entries = hint_builder_.entry_count();
  std::string file = hint_builder_.TakeFile(header);
  last_hint_done_ = absl::Now();
  if (ring_ != nullptr) return StartHintWrite(job.ns, job.sequence, path, std::move(file));
  // Temporary name, fdatasync, rename, fsync of the directory (kTempSuffix is ".tmp").
  absl::Status s = WriteFileAtomically(env_, path, file);
  if (!s.ok()) {
    segment.hint_failed = true;  // recovery scans the segment instead; retried after reopen
    LOG(ERROR) << path << ": writing the hint file failed: " << s;
    return s;
  }
  segment.hinted = true;
  VLOG(1) << path << ": " << entries << " entries";
  return absl::OkStatus();
}

// As WriteFileAtomically, with the write and its fdatasync (linked) through the ring; the
// rename and the directory fsync follow on completion.
absl::Status LogEngine::StartHintWrite(uint32_t ns, uint64_t sequence, const std::string& path,
                                       std::string contents) {
  const std::string tmp = absl::StrCat(path, kTempSuffix);
  absl::StatusOr<std::unique_ptr<File>> opened = env_->OpenFile(tmp, Env::OpenMode::kCreateTruncate);
  auto fail = [this, ns, sequence, path](const absl::Status& s) {
    auto it = namespaces_[ns].sealed.find(sequence);
    if (it != namespaces_[ns].sealed.end()) it->second.hint_failed = true;
    LOG(ERROR) << path << ": writing the hint file failed: " << s;
    return s;
  };
  if (!opened.ok()) return fail(opened.status());
  std::shared_ptr<File> file = *std::move(opened);
  if (file->fd() < 0) {  // no descriptor: blocking, as without a ring
    absl::Status s = file->Write(0, contents);
    if (s.ok()) s = file->DataSync();
    file.reset();
    if (s.ok()) s = env_->Rename(tmp, path);
    if (s.ok()) s = env_->SyncDir(NamespaceDir(ns));
    if (!s.ok()) return fail(s);
    namespaces_[ns].sealed.at(sequence).hinted = true;
    return absl::OkStatus();
  }
  auto data = std::make_shared<std::string>(std::move(contents));
  hint_write_in_flight_ = true;
  ++background_io_pending_;
  ring_->WriteAndSync(
      file->fd(), 0, *data, /*sync=*/true,
      [this, file, data, ns, sequence, path, tmp, fail](int write_result, int sync_result) mutable {
        --background_io_pending_;
        hint_write_in_flight_ = false;
        file.reset();
        absl::Status s;
        if (write_result < 0) s = absl::ErrnoToStatus(-write_result, "write " + tmp);
        if (s.ok() && sync_result < 0) s = absl::ErrnoToStatus(-sync_result, "fdatasync " + tmp);
        auto it = namespaces_[ns].sealed.find(sequence);
        if (s.ok() && it == namespaces_[ns].sealed.end()) {
          s = absl::CancelledError("its segment was reclaimed meanwhile");
        }
        if (s.ok()) s = env_->Rename(tmp, path);
        if (s.ok()) s = env_->SyncDir(NamespaceDir(ns));
        if (!s.ok()) {
          env_->RemoveFile(tmp).IgnoreError();
          if (!absl::IsCancelled(s)) fail(s).IgnoreError();
          return;
        }
        it->second.hinted = true;
        VLOG(1) << path << ": hint file written";
      });
  ring_->Submit();
  return absl::OkStatus();
}

void LogEngine::StartWindowRead(const std::shared_ptr<SegmentWindow>& window, int fd,
                                uint64_t offset, size_t n, uint64_t file_size) {
  const size_t len = static_cast<size_t>(std::min<uint64_t>(
      std::max(n, SegmentWindow::kMinBytes), file_size - std::min(offset, file_size)));
  char* buf = window->BeginFill(offset, len);
  ++background_io_pending_;
  ring_->Read(fd, offset, buf, len, [this, window](int result) {
    --background_io_pending_;
    window->EndFill(result);
  });
  ring_->Submit();
}

// ---- Reclaim --------------------------------------------------------------------------------

void LogEngine::ScheduleReclaim() {
  auto enqueue = [this](uint32_t ns, bool whole) {
    for (ReclaimDue& due : reclaim_queue_) {
      if (due.ns == ns) {
        due.whole = due.whole || whole;
        return;
      }
    }
    reclaim_queue_.push_back(ReclaimDue{ns, whole});
  };
  if (reclaim_requested_) {
    reclaim_requested_ = false;
    for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
      Namespace& n = namespaces_[ns];
      // Seal what the active segment holds, so the whole log is reclaimed.
      if (n.active != nullptr && n.active->status().ok() &&
          n.active->written_size() > kSegmentHeaderSize) {
        if (absl::Status s = SealActive(ns); !s.ok()) LOG(ERROR) << "sealing failed: " << s;
      }
      if (!n.sealed.empty()) enqueue(ns, /*whole=*/true);
    }
  }
  if (options_.reclaim_sealed_threshold == 0) return;
  // A namespace is looked at when it sealed a segment (its garbage is then mostly new) and
  // every reclaim_interval_secs (expiry and deletes make garbage without sealing anything).
  const int64_t now_us = NowUs();
  const bool interval_due =
      now_us - last_reclaim_check_us_ >= options_.reclaim_interval_secs * 1'000'000;
  if (interval_due) last_reclaim_check_us_ = now_us;
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    Namespace& n = namespaces_[ns];
    if (!interval_due && !n.sealed_since_check) continue;
    n.sealed_since_check = false;
    if (n.sealed.size() < options_.reclaim_sealed_threshold) continue;
    if (reclaim_.has_value() && reclaim_->ns == ns) continue;
    uint64_t sealed_bytes = 0;
    uint64_t live_bytes = 0;
    for (const uint64_t sequence : AutomaticReclaimInputs(ns)) {
      sealed_bytes += n.sealed.at(sequence).size;
      live_bytes += n.index.SegmentLiveBytes(sequence);
    }
    const uint64_t garbage = sealed_bytes - std::min(live_bytes, sealed_bytes);
    if (garbage * kAutoReclaimGarbageShare >= sealed_bytes) enqueue(ns, /*whole=*/false);
  }
}

std::vector<uint64_t> LogEngine::AutomaticReclaimInputs(uint32_t ns) const {
  const std::map<uint64_t, SealedSegment>& sealed = namespaces_[ns].sealed;
  std::vector<uint64_t> inputs;
  inputs.reserve(sealed.size());
  for (const auto& [sequence, segment] : sealed) inputs.push_back(sequence);
  // The newest sealed segment holds the youngest records, the likeliest to be overwritten
  // soon: copying them now would mostly be wasted (under steady overwrites every older
  // segment is all garbage, and a run reads none of them).
  if (inputs.size() > 1 && IsLogSequence(inputs.back())) inputs.pop_back();
  return inputs;
}

void LogEngine::StartReclaim(const ReclaimDue& due) {
  const uint32_t ns = due.ns;
  Namespace& n = namespaces_[ns];
  if (n.sealed.empty()) return;
  ReclaimJob job;
  job.ns = ns;
  if (due.whole) {
    for (const auto& [sequence, segment] : n.sealed) job.inputs.push_back(sequence);
  } else {
    job.inputs = AutomaticReclaimInputs(ns);
  }
  uint64_t bytes = 0;
  uint64_t live = 0;
  for (const uint64_t sequence : job.inputs) {
    bytes += n.sealed.at(sequence).size;
    live += n.index.SegmentLiveBytes(sequence);
  }
  job.input_offset = kSegmentHeaderSize;
  // Outputs sort after every input and before the next segment the log will start (or has
  // started: an automatic run leaves out the newest log segment, at or past that sequence).
  job.next_output = job.inputs.back() + 1;
  job.output_limit = NextLogSequence(job.inputs.back());
  job.run_id = ++reclaim_runs_started_;
  LOG(INFO) << "namespace " << ns << ": reclaiming " << job.inputs.size() << " of "
            << n.sealed.size() << " sealed segments (" << bytes << " bytes, " << live
            << " live)";
  reclaim_ = std::move(job);
  if (hint_job_.has_value() && ReclaimInput(hint_job_->ns, hint_job_->sequence)) {
    hint_job_.reset();  // an input's hint
  }
}

bool LogEngine::ReclaimInput(uint32_t ns, uint64_t sequence) const {
  return reclaim_.has_value() && reclaim_->ns == ns &&
         std::binary_search(reclaim_->inputs.begin(), reclaim_->inputs.end(), sequence);
}

absl::Status LogEngine::ReclaimStep(absl::Time deadline) {
  // A namespace with a replay open waits: its log segments must stay as they are.
  if (reclaim_.has_value()
          ? replays_open_[reclaim_->ns] > 0
          : !reclaim_queue_.empty() && replays_open_[reclaim_queue_.front().ns] > 0) {
    return absl::OkStatus();
  }
  while (!reclaim_.has_value() && !reclaim_queue_.empty()) {
    const ReclaimDue due = reclaim_queue_.front();
    reclaim_queue_.erase(reclaim_queue_.begin());
    StartReclaim(due);
  }
  if (!reclaim_.has_value()) return absl::OkStatus();
  {
    const ReclaimJob& job = *reclaim_;
    if (job.write_in_flight || job.syncs_in_flight > 0 ||
        (job.window != nullptr && job.window->in_flight())) {
      return absl::OkStatus();  // the ring is not done yet: the next call goes on
    }
    if (!job.io_error.ok()) {
      const absl::Status s = job.io_error;
      AbortReclaim(s);
      return s;
    }
  }
  if (!reclaim_->copy_done) {
    if (absl::Status s = ReclaimCopy(deadline); !s.ok()) {
      AbortReclaim(s);
      return s;
    }
    if (!reclaim_->copy_done) return absl::OkStatus();
  }
  // Every live record is durable in the outputs. Before the first input goes, so is every
  // newer record that superseded one of theirs, and the replay floor moves above every
  // revision they held (watch replay); then the inputs go, oldest first.
  if (reclaim_->deleted == 0 && !reclaim_->newer_durable) {
    if (absl::Status s = ReclaimSyncNewer(); !s.ok()) {
      AbortReclaim(s);
      return s;
    }
    if (!reclaim_->newer_durable) return absl::OkStatus();
  }
  if (reclaim_->deleted == 0 && reclaim_->max_revision > replay_floor_[reclaim_->ns]) {
    if (absl::Status s = WriteReplayFloor(reclaim_->ns, reclaim_->max_revision); !s.ok()) {
      LOG(ERROR) << "namespace " << reclaim_->ns
                 << ": reclaim stopped, the replay floor could not be written: " << s;
      reclaim_.reset();
      return s;
    }
  }
  while (reclaim_->deleted < reclaim_->inputs.size()) {
    if (absl::Status s = ReclaimDeleteOne(); !s.ok()) {
      LOG(ERROR) << "namespace " << reclaim_->ns
                 << ": reclaim stopped before removing all its inputs: " << s;
      reclaim_.reset();
      return s;
    }
    if (StepDone(deadline)) return absl::OkStatus();
  }
  ++reclaim_runs_;
  LOG(INFO) << "namespace " << reclaim_->ns << ": reclaim done, "
            << namespaces_[reclaim_->ns].sealed.size() << " sealed segments left";
  reclaim_.reset();
  return absl::OkStatus();
}

void LogEngine::SubmitActiveSync(uint32_t ns,
                                 std::function<void(const absl::Status&)> done) {
  SegmentWriter* active = namespaces_[ns].active.get();
  const uint64_t sequence = active->sequence();
  const uint64_t generation = active->flush_generation();
  ring_->DataSync(active->file()->fd(), [this, ns, sequence, generation,
                                         done = std::move(done)](int result) {
    const absl::Status status =
        result < 0 ? absl::ErrnoToStatus(-result, "fdatasync") : absl::OkStatus();
    SegmentWriter* now = namespaces_[ns].active.get();
    if (now != nullptr && now->sequence() == sequence) now->EndSync(generation, status);
    done(status);
  });
}

absl::Status LogEngine::ReclaimSyncNewer() {
  ReclaimJob& job = *reclaim_;
  Namespace& n = namespaces_[job.ns];
  if (!job.newer_sync_started) {
    job.newer_sync_started = true;
    job.newer_limit = n.active != nullptr ? n.active->sequence() : ~uint64_t{0};
    SegmentWriter* active = n.active.get();
    if (active != nullptr && active->file() != nullptr && active->needs_sync()) {
      if (!active->status().ok()) return active->status();
      if (ring_ == nullptr || active->file()->fd() < 0) {
        if (absl::Status s = active->Sync(); !s.ok()) return s;
      } else {
        // Through the ring; ReclaimStep waits for syncs_in_flight and io_error.
        const uint64_t run = job.run_id;
        ++job.syncs_in_flight;
        ++background_io_pending_;
        SubmitActiveSync(job.ns, [this, run](const absl::Status& status) {
          --background_io_pending_;
          if (!reclaim_.has_value() || reclaim_->run_id != run) return;
          --reclaim_->syncs_in_flight;
          if (!status.ok() && reclaim_->io_error.ok()) reclaim_->io_error = status;
        });
        ring_->Submit();
        return absl::OkStatus();
      }
    }
  }
  // Segments sealed between the inputs and the active segment of the start whose sealing
  // fdatasync is still on the ring: wait for them.
  for (auto it = n.sealed.upper_bound(job.inputs.back());
       it != n.sealed.end() && it->first < job.newer_limit; ++it) {
    if (it->second.sync_pending) return absl::OkStatus();
  }
  job.newer_durable = true;
  return absl::OkStatus();
}

absl::Status LogEngine::ReclaimCopy(absl::Time deadline) {
  ReclaimJob& job = *reclaim_;
  Namespace& n = namespaces_[job.ns];
  if (job.publish_pending) {  // a publish waiting for the ring resumes first
    if (absl::Status s = ReclaimPublishOutput(); !s.ok()) return s;
    if (job.publish_pending) return absl::OkStatus();
    if (job.finishing) {
      job.copy_done = true;
      return absl::OkStatus();
    }
  }
  const int64_t now_ms = NowMs();
  bool out_of_time = false;
  while (job.input < job.inputs.size() && !out_of_time) {
    const uint64_t sequence = job.inputs[job.input];
    const SealedSegment& segment = n.sealed.at(sequence);
    // No index entry points into this input (and none can start to), so it is all garbage;
    // with its revisions known (the replay floor), it goes without being read.
    if (job.input_offset == kSegmentHeaderSize && segment.max_revision != 0 &&
        n.index.SegmentLiveBytes(sequence) == 0) {
      job.max_revision = std::max(job.max_revision, segment.max_revision);
      ++job.input;
      ++reclaim_inputs_unread_;
      if (StepDone(deadline)) out_of_time = true;
      continue;
    }
    File* const file = segment.file.get();
    File* source = file;
    if (ring_ != nullptr && file->fd() >= 0) {
      if (job.window == nullptr || job.window_sequence != sequence) {
        job.window = std::make_shared<SegmentWindow>(*file, segment.size);
        job.window_sequence = sequence;
      }
      source = job.window.get();
    }
    SegmentReader reader(source, job.input_offset, segment.size);
    ScannedRecord record;
    for (;;) {
      absl::StatusOr<SegmentReader::Result> result = reader.Next(&record);
      if (!result.ok() && source != file && SegmentWindow::IsMiss(result.status())) {
        if (!job.window->error().ok()) return job.window->error();
        // Read the input on from where this scan resumes, then end the call.
        StartWindowRead(job.window, file->fd(), job.input_offset,
                        job.window->miss_offset() + job.window->miss_bytes() - job.input_offset,
                        segment.size);
        return ReclaimWriteBuffer();
      }
      if (!result.ok()) return result.status();
      if (*result == SegmentReader::Result::kEnd) {
        ++job.input;
        job.input_offset = kSegmentHeaderSize;
        break;
      }
      if (*result == SegmentReader::Result::kRecord) {
        job.input_offset = reader.offset();
        job.max_revision = std::max(job.max_revision, record.revision);
        const IndexEntry* entry =
            record.type == RecordType::kPut ? n.index.Find(record.key) : nullptr;
        // Only the record the index points at is live; tombstones, flush and expire-only
        // records, overwritten and expired puts are left behind.
        if (entry != nullptr && entry->segment == sequence &&
            entry->record_offset == record.offset) {
          if (!entry->LiveAt(now_ms)) {
            n.index.Erase(record.key);
            ++expired_keys_;
          } else {
            const IndexEntry live = *entry;
            if (absl::Status s =
                    ReclaimCopyRecord(record.key, live, /*count_damage=*/true, source);
                !s.ok()) {
              return s;
            }
          }
        }
      } else {
        // Damage in a sealed segment, skipped by the scan's rule (segment_reader.h). Entries
        // still pointing at what could not be read are dealt with by ReclaimRescue().
        job.damaged_input = true;
        ++corrupt_records_;
        LOG(ERROR) << segment.file->path() << ": " << DescribeDamage(reader.damage())
                   << "; met by reclaim";
        job.input_offset = reader.offset();
      }
      if (job.buffer.size() >= kReclaimWriteChunk) {
        if (absl::Status s = ReclaimWriteBuffer(); !s.ok()) return s;
        if (job.write_in_flight) return absl::OkStatus();
      }
      if (job.output != nullptr && job.output_size + job.buffer.size() >= options_.segment_bytes) {
        if (absl::Status s = ReclaimPublishOutput(); !s.ok()) return s;
        if (job.publish_pending) return absl::OkStatus();
      }
      if (StepDone(deadline)) {
        out_of_time = true;
        break;
      }
    }
  }
  if (job.input < job.inputs.size()) {
    // Index entries never wait for the next call to reach the file.
    return ReclaimWriteBuffer();
  }
  if (job.damaged_input) {
    if (absl::Status s = ReclaimRescue(); !s.ok()) return s;
  }
  job.finishing = true;
  if (absl::Status s = ReclaimPublishOutput(); !s.ok()) return s;
  if (job.publish_pending) return absl::OkStatus();
  job.copy_done = true;
  return absl::OkStatus();
}

absl::Status LogEngine::ReclaimCopyRecord(std::string_view key, const IndexEntry& entry,
                                          bool count_damage, File* source) {
  ReclaimJob& job = *reclaim_;
  Namespace& n = namespaces_[job.ns];
  const SealedSegment& input = n.sealed.at(entry.segment);
  std::string bytes(entry.record_size, '\0');
  // The scan that met the record read it whole through `source` (a window), which still
  // holds it; otherwise (reclaim's rescue of damaged inputs) the file is read.
  File* from = input.file.get();
  if (source != nullptr && source != from &&
      static_cast<SegmentWindow*>(source)->Covers(entry.record_offset, entry.record_size)) {
    from = source;
  }
  absl::StatusOr<size_t> got = from->Read(entry.record_offset, bytes.size(), bytes.data());
  if (!got.ok()) return got.status();
  RecordView record;
  size_t consumed = 0;
  if (*got != bytes.size() ||
      DecodeRecord(bytes, kMaxValueBytesLimit, &record, &consumed) != DecodeStatus::kOk ||
      record.type != RecordType::kPut || record.key != key) {
    job.damaged_input = true;
    if (count_damage) ++corrupt_records_;
    LOG(ERROR) << input.file->path() << ": damaged record at offset " << entry.record_offset
               << " met by reclaim";
    return absl::OkStatus();
  }
  if (job.output == nullptr) {
    if (job.next_output >= job.output_limit) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "no segment sequence left between ", job.inputs.back(), " and ", job.output_limit));
    }
    const uint64_t sequence = job.next_output;
    const std::string tmp =
        absl::StrCat(NamespaceDir(job.ns), "/", SegmentFileName(sequence), kTempSuffix);
    absl::StatusOr<std::unique_ptr<File>> file =
        env_->OpenFile(tmp, Env::OpenMode::kCreateTruncate);
    if (!file.ok()) return file.status();
    ++job.next_output;
    job.output = *std::move(file);
    job.output_sequence = sequence;
    job.output_size = 0;
    job.buffer =
        EncodeSegmentHeader(SegmentHeader{kFormatVersion, options_.shard_id, job.ns, sequence});
    job.moved.clear();
  }
  // The copy states the key's current entry: expiry and revision may come from a later
  // expire-only record, which is not copied.
  record.revision = entry.revision;
  record.expire_at_ms = entry.expire_at_ms;
  IndexEntry to = entry;
  to.segment = job.output_sequence;
  to.record_offset = job.output_size + job.buffer.size();
  AppendRecord(record, &job.buffer);
  job.switches.push_back(Switch{std::string(key), entry, to});
  return absl::OkStatus();
}

absl::Status LogEngine::ReclaimWriteBuffer(bool wait) {
  ReclaimJob& job = *reclaim_;
  if (job.buffer.empty()) return absl::OkStatus();
  const int fd = job.output->fd();
  if (ring_ == nullptr || fd < 0 || wait) {
    if (absl::Status s = job.output->Write(job.output_size, job.buffer); !s.ok()) return s;
    job.output_size += job.buffer.size();
    job.buffer.clear();
    ApplySwitches(job.switches);
    return absl::OkStatus();
  }
  auto data = std::make_shared<std::string>(std::move(job.buffer));
  job.buffer.clear();
  job.inflight_switches = std::move(job.switches);
  job.switches.clear();
  job.write_in_flight = true;
  ++background_io_pending_;
  const uint64_t run = job.run_id;
  const std::string path = job.output->path();
  ring_->WriteAndSync(fd, job.output_size, *data, /*sync=*/false,
                      [this, data, run, path](int write_result, int) {
                        --background_io_pending_;
                        if (!reclaim_.has_value() || reclaim_->run_id != run) return;
                        ReclaimJob& job = *reclaim_;
                        job.write_in_flight = false;
                        if (write_result < 0) {
                          job.io_error = absl::ErrnoToStatus(-write_result, "write " + path);
                          job.inflight_switches.clear();
                          return;
                        }
                        job.output_size += data->size();
                        ApplySwitches(job.inflight_switches);
                      });
  ring_->Submit();
  return absl::OkStatus();
}

void LogEngine::ApplySwitches(std::vector<Switch>& switches) {
  ReclaimJob& job = *reclaim_;
  KeyIndex& index = namespaces_[job.ns].index;
  for (const Switch& sw : switches) {
    const IndexEntry* current = index.Find(sw.key);
    // Rewritten or deleted meanwhile: the copy is garbage, the key lives elsewhere.
    if (current == nullptr || current->segment != sw.from.segment ||
        current->record_offset != sw.from.record_offset ||
        current->record_size != sw.from.record_size) {
      continue;
    }
    // Still the copied record, but an expire-only record (EXPIRE, PERSIST, GETEX) may have
    // changed the key's revision and expiry while the copy was written: they stay, only the
    // value's place changes. (The copy states the older revision and expiry; the expire-only
    // record sits in a later segment, so recovery applies it after the copy.) Skipping such
    // a switch would leave the entry pointing into an input that is about to be unlinked.
    IndexEntry to = sw.to;
    to.revision = current->revision;
    to.expire_at_ms = current->expire_at_ms;
    index.Upsert(sw.key, to);
    job.moved.push_back(Moved{sw.to.record_offset, sw.from.segment, sw.from.record_offset});
  }
  switches.clear();
}

absl::Status LogEngine::ReclaimRescue() {
  ReclaimJob& job = *reclaim_;
  KeyIndex& index = namespaces_[job.ns].index;
  const std::set<uint64_t> inputs(job.inputs.begin(), job.inputs.end());
  std::vector<std::pair<std::string, IndexEntry>> stranded;
  for (auto it = index.begin(); it != index.end(); ++it) {
    if (inputs.count(it->second.segment) > 0) stranded.emplace_back(it->first, it->second);
  }
  for (const auto& [key, entry] : stranded) {
    // Damage here was counted when the scan met it.
    if (absl::Status s = ReclaimCopyRecord(key, entry, /*count_damage=*/false); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ReclaimWriteBuffer(/*wait=*/true); !s.ok()) return s;
  for (const auto& [key, entry] : stranded) {
    const IndexEntry* current = index.Find(key);
    if (current != nullptr && *current == entry) {
      // Its record is damaged and its input is about to go: the key is lost either way.
      LOG(ERROR) << "namespace " << job.ns << ": key '" << key
                 << "' dropped by reclaim: its record in segment " << entry.segment
                 << " is damaged";
      index.Erase(key);
    }
  }
  return absl::OkStatus();
}

absl::Status LogEngine::ReclaimPublishOutput() {
  ReclaimJob& job = *reclaim_;
  job.publish_pending = false;
  if (job.output == nullptr) return absl::OkStatus();
  if (absl::Status s = ReclaimWriteBuffer(); !s.ok()) return s;
  if (job.write_in_flight) {
    job.publish_pending = true;
    return absl::OkStatus();
  }
  // A copy carries the key's current expiry and revision, which may come from an expire-only
  // record in the active segment: that record must be durable before the copy is.
  Namespace& n = namespaces_[job.ns];
  if (!job.output_synced) {
    const int fd = job.output->fd();
    SegmentWriter* active = n.active.get();
    if (active != nullptr && !active->status().ok()) return active->status();
    if (ring_ == nullptr || fd < 0) {
      if (active != nullptr) {
        if (absl::Status s = active->Sync(); !s.ok()) return s;
      }
      if (absl::Status s = job.output->DataSync(); !s.ok()) return s;
    } else {
      // Both fdatasyncs through the ring; the publish resumes at the next call.
      const uint64_t run = job.run_id;
      auto synced = [this, run](const absl::Status& status) {
        --background_io_pending_;
        if (!reclaim_.has_value() || reclaim_->run_id != run) return;
        ReclaimJob& job = *reclaim_;
        --job.syncs_in_flight;
        if (!status.ok() && job.io_error.ok()) job.io_error = status;
        if (job.syncs_in_flight == 0 && job.io_error.ok()) job.output_synced = true;
      };
      job.publish_pending = true;
      if (active != nullptr && active->needs_sync() && active->file() != nullptr) {
        if (active->file()->fd() < 0) {
          if (absl::Status s = active->Sync(); !s.ok()) return s;
        } else {
          ++job.syncs_in_flight;
          ++background_io_pending_;
          SubmitActiveSync(job.ns, synced);
        }
      }
      ++job.syncs_in_flight;
      ++background_io_pending_;
      const std::string output_path = job.output->path();
      ring_->DataSync(fd, [synced, output_path](int result) {
        synced(result < 0 ? absl::ErrnoToStatus(-result, "fdatasync " + output_path)
                          : absl::OkStatus());
      });
      ring_->Submit();
      return absl::OkStatus();
    }
  }
  job.output_synced = false;
  const std::string ns_dir = NamespaceDir(job.ns);
  const std::string path = absl::StrCat(ns_dir, "/", SegmentFileName(job.output_sequence));
  if (absl::Status s = env_->Rename(absl::StrCat(path, kTempSuffix), path); !s.ok()) return s;
  // From here the output is a complete segment under its own name, durable or not: it
  // belongs to the namespace whatever happens next.
  std::unique_ptr<File> file = std::move(job.output);
  if (absl::StatusOr<std::unique_ptr<File>> reopened =
          env_->OpenFile(path, Env::OpenMode::kExisting);
      reopened.ok()) {
    file = *std::move(reopened);  // named by its final path in messages
  }
  n.sealed[job.output_sequence] = SealedSegment{std::move(file), job.output_size};
  hint_selection_empty_ = false;
  VLOG(1) << path << ": reclaim output published (" << job.output_size << " bytes)";
  job.output_sequence = 0;
  job.output_size = 0;
  job.moved.clear();
  return env_->SyncDir(ns_dir);
}

absl::Status LogEngine::ReclaimDeleteOne() {
  ReclaimJob& job = *reclaim_;
  const uint64_t sequence = job.inputs[job.deleted];
  const std::string ns_dir = NamespaceDir(job.ns);
  if (absl::Status s = env_->RemoveFile(absl::StrCat(ns_dir, "/", SegmentFileName(sequence)));
      !s.ok()) {
    return s;
  }
  namespaces_[job.ns].sealed.erase(sequence);  // no entry points into it
  ++job.deleted;
  // A hint left behind is removed by the next Open.
  const std::string hint = absl::StrCat(ns_dir, "/", HintFileName(sequence));
  absl::StatusOr<bool> has_hint = env_->Exists(hint);
  if (!has_hint.ok()) return has_hint.status();
  if (*has_hint) {
    if (absl::Status s = env_->RemoveFile(hint); !s.ok()) return s;
  }
  // Inputs must disappear oldest first (FORMAT.md "Reclaim"): the next unlink waits for this
  // one to be durable.
  return env_->SyncDir(ns_dir);
}

void LogEngine::AbortReclaim(const absl::Status& why) {
  ReclaimJob& job = *reclaim_;
  LOG(ERROR) << "namespace " << job.ns << ": reclaim aborted, its inputs are kept: " << why;
  if (job.output != nullptr) {
    // Entries moved into the unpublished output go back to their inputs, which are intact.
    KeyIndex& index = namespaces_[job.ns].index;
    std::vector<std::pair<std::string, IndexEntry>> back;
    for (auto it = index.begin(); it != index.end(); ++it) {
      if (it->second.segment != job.output_sequence) continue;
      auto moved =
          std::lower_bound(job.moved.begin(), job.moved.end(), it->second.record_offset,
                           [](const Moved& m, uint64_t offset) { return m.to_offset < offset; });
      CHECK(moved != job.moved.end() && moved->to_offset == it->second.record_offset);
      IndexEntry entry = it->second;
      entry.segment = moved->from_segment;
      entry.record_offset = moved->from_offset;
      back.emplace_back(it->first, entry);
    }
    for (const auto& [key, entry] : back) index.Upsert(key, entry);
    job.output.reset();
    const std::string tmp =
        absl::StrCat(NamespaceDir(job.ns), "/", SegmentFileName(job.output_sequence), kTempSuffix);
    if (absl::Status s = env_->RemoveFile(tmp); !s.ok()) {
      LOG(WARNING) << tmp << ": " << s << " (recovery removes it)";
    }
  }
  reclaim_.reset();
}

}  // namespace beyondkv::engine
