#include "engine/log_engine.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include "absl/base/internal/prefetch.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/random_seed.h"
#include "engine/manifest.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"

namespace beyondkv::engine {
namespace {


absl::Status CheckOptions(const Options& options) {
  if (options.shard_count == 0 || options.shard_count > kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard_count ", options.shard_count, " not in [1, ", kMaxShards, "]"));
  }
  if (options.shard_id >= options.shard_count) {
    return absl::InvalidArgumentError(absl::StrCat("shard_id ", options.shard_id,
                                                   " not below shard_count ",
                                                   options.shard_count));
  }
  if (options.segment_bytes <= kSegmentHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("segment_bytes ", options.segment_bytes,
                                                   " must exceed the segment header's ",
                                                   kSegmentHeaderSize, " bytes"));
  }
  if (options.max_value_bytes > kMaxValueBytesLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_value_bytes ", options.max_value_bytes,
                                                   " exceeds the format's limit of ",
                                                   kMaxValueBytesLimit));
  }
  return absl::OkStatus();
}

absl::Status CheckNamespace(uint32_t ns) {
  if (ns >= kNamespaceCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace ", ns, " out of range [0, ", kNamespaceCount, ")"));
  }
  return absl::OkStatus();
}

// Creates or checks the MANIFEST of shard directory `dir`.
absl::Status CheckManifest(const Options& options, const std::string& dir, Env* env) {
  absl::StatusOr<std::optional<Manifest>> manifest = ReadManifest(env, dir);
  if (!manifest.ok()) return manifest.status();
  if (!manifest->has_value()) {
    // A missing MANIFEST next to data means it was lost, not that the shard is new: guessing
    // the shard layout could serve keys from the wrong shard.
    absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      if (absl::StartsWith(name, "ns-")) {
        return absl::DataLossError(absl::StrCat(dir, " holds data (", name, ") but no ",
                                                kManifestFileName));
      }
    }
    return WriteManifest(env, dir, {kFormatVersion, options.shard_id, options.shard_count});
  }
  const Manifest& m = **manifest;
  if (m.format_version == 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " was written by an older beyond-kv (storage format 1: revisions in µs above 2^53, "
        "which JavaScript clients cannot read exactly); this build writes format ", kFormatVersion,
        " and cannot mix the two revision schemes in one log. Copy the keys out with the old "
        "build running (SCAN, GET and PTTL) into a server started on a new data directory"));
  }
  if (m.format_version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " has storage format version ", m.format_version, "; this build reads version ",
        kFormatVersion));
  }
  if (m.shard_count != options.shard_count || m.shard_id != options.shard_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " was created as shard ", m.shard_id, " of shard_count ", m.shard_count,
        ", but is being opened as shard ", options.shard_id, " of shard_count ",
        options.shard_count, "; the shard count of a data directory cannot change"));
  }
  return absl::OkStatus();
}

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// (absl::StartsWith takes Debian's own absl::string_view, not std::string_view.)
bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const Options& options,
                                                     const std::string& dir) {
  return LogEngine::Open(options, dir, Env::Default());
}

absl::StatusOr<std::unique_ptr<Engine>> LogEngine::Open(const Options& options,
                                                        const std::string& dir, Env* env) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  absl::StatusOr<bool> existed = env->Exists(dir);
  if (!existed.ok()) return existed.status();
  if (!*existed) {
    if (absl::Status s = env->CreateDir(dir); !s.ok()) return s;
    if (absl::Status s = env->SyncDir(DirName(dir)); !s.ok()) return s;
  }
  if (absl::Status s = CheckManifest(options, dir, env); !s.ok()) return s;

  std::unique_ptr<LogEngine> engine(new LogEngine(options, dir, env));
  if (absl::Status s = engine->Recover(); !s.ok()) return s;
  return std::unique_ptr<Engine>(std::move(engine));
}

LogEngine::LogEngine(const Options& options, std::string dir, Env* env)
    : options_(options),
      dir_(std::move(dir)),
      env_(env),
      clock_(options.shard_id),
      cache_(options.memory_bytes),
      rng_(NewRandomSeed()) {
  last_periodic_sync_us_ = NowUs();
  last_reclaim_check_us_ = last_periodic_sync_us_;
}

LogEngine::~LogEngine() {
  // Staged, uncommitted mutations were never acknowledged; they are dropped.
  if (absl::Status s = SyncAll(); !s.ok()) LOG(ERROR) << "sync at close: " << s;
}

// ---- Recovery -------------------------------------------------------------------------------

absl::Status LogEngine::Recover() {
  const absl::Time start = absl::Now();
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    if (absl::Status s = RecoverNamespace(ns); !s.ok()) return s;
    stats_.keys += namespaces_[ns].index.size();
  }
  stats_.elapsed_us = absl::ToInt64Microseconds(absl::Now() - start);
  return absl::OkStatus();
}

std::string LogEngine::NamespaceDir(uint32_t ns) const {
  return absl::StrCat(dir_, "/", NamespaceDirName(ns));
}

absl::Status LogEngine::RecoverNamespace(uint32_t ns) {
  const std::string ns_dir = NamespaceDir(ns);
  absl::StatusOr<bool> exists = env_->Exists(ns_dir);
  if (!exists.ok()) return exists.status();
  if (!*exists) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(ns_dir);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> sequences;
  std::set<uint64_t> hints;
  std::vector<std::string> leftovers;
  for (const std::string& name : *names) {
    if (std::optional<uint64_t> seq = ParseSegmentFileName(name)) {
      sequences.push_back(*seq);
    } else if (std::optional<uint64_t> hint = ParseHintFileName(name)) {
      hints.insert(*hint);
    } else if (name == kReplayFloorFile) {
      // Read after the segments (ReadReplayFloor).
    } else if (HasSuffix(name, kTempSuffix)) {
      leftovers.push_back(name);  // never renamed into place: incomplete by construction
    } else {
      LOG(WARNING) << ns_dir << "/" << name << ": not a segment or hint file, ignored";
    }
  }
  std::sort(sequences.begin(), sequences.end());
  for (uint64_t hint : hints) {
    // A reclaim removed the segment and crashed before removing its hint.
    if (!std::binary_search(sequences.begin(), sequences.end(), hint)) {
      leftovers.push_back(HintFileName(hint));
    }
  }
  for (const std::string& name : leftovers) {
    LOG(WARNING) << ns_dir << "/" << name << ": left over by an interrupted write; removed";
    if (absl::Status s = env_->RemoveFile(absl::StrCat(ns_dir, "/", name)); !s.ok()) return s;
  }
  if (!leftovers.empty()) {
    if (absl::Status s = env_->SyncDir(ns_dir); !s.ok()) return s;
  }
  for (size_t i = 0; i < sequences.size(); ++i) {
    const uint64_t sequence = sequences[i];
    const bool has_hint = hints.count(sequence) > 0;
    // Only a segment the log itself started can be the active one, and only if it was not
    // sealed: a hint is written only for a sealed segment, and a reclaim output is complete
    // by construction and sorts below the next log segment.
    const bool active = i + 1 == sequences.size() && IsLogSequence(sequence) && !has_hint;
    if (absl::Status s = RecoverSegment(ns, sequence, active, has_hint); !s.ok()) return s;
  }
  if (absl::Status s = ReadReplayFloor(ns); !s.ok()) return s;
  // Entries were replayed whatever their expiry (a later expire-only record may extend it);
  // what is expired by now goes.
  Namespace& n = namespaces_[ns];
  if (n.index.expires() > 0) {
    const int64_t now_ms = NowMs();
    for (auto it = n.index.begin(); it != n.index.end();) {
      it = it->second.LiveAt(now_ms) ? std::next(it) : n.index.Erase(it);
    }
  }
  return absl::OkStatus();
}

absl::Status LogEngine::RecoverSegment(uint32_t ns, uint64_t sequence, bool active,
                                       bool has_hint) {
  Namespace& n = namespaces_[ns];
  const std::string ns_dir = NamespaceDir(ns);
  const std::string path = absl::StrCat(ns_dir, "/", SegmentFileName(sequence));
  absl::StatusOr<std::unique_ptr<File>> opened = env_->OpenFile(path, Env::OpenMode::kExisting);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<File> file = *std::move(opened);
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  ++stats_.segments;

  std::string header_bytes(std::min<uint64_t>(*size, kSegmentHeaderSize), '\0');
  absl::StatusOr<size_t> got = file->Read(0, header_bytes.size(), header_bytes.data());
  if (!got.ok()) return got.status();
  header_bytes.resize(*got);
  const SegmentHeader expected{kFormatVersion, options_.shard_id, ns, sequence};
  SegmentHeader header;
  const DecodeStatus header_status = DecodeSegmentHeader(header_bytes, &header);
  if (active && (header_status == DecodeStatus::kIncomplete ||
                 (header_status == DecodeStatus::kCorrupt && AllZero(header_bytes) &&
                  *size == kSegmentHeaderSize))) {
    // A crash while the segment was being created: it holds no record. Remove it; the next
    // write recreates it.
    LOG(WARNING) << path << ": segment header torn at creation (" << *size
                 << " bytes); removing the empty segment";
    stats_.torn_bytes_truncated += *size;
    file.reset();
    if (absl::Status s = env_->RemoveFile(path); !s.ok()) return s;
    if (absl::Status s = env_->SyncDir(ns_dir); !s.ok()) return s;
    n.active = std::make_unique<SegmentWriter>(env_, ns_dir, expected);
    return absl::OkStatus();
  }
  if (header_status != DecodeStatus::kOk) {
    return absl::DataLossError(absl::StrCat(path, ": damaged segment header"));
  }
  if (header.format_version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": format version ",
                                                      header.format_version, ", expected ",
                                                      kFormatVersion));
  }
  if (header.shard_id != expected.shard_id || header.ns != ns || header.sequence != sequence) {
    return absl::DataLossError(absl::StrCat(
        path, ": header names shard ", header.shard_id, " namespace ", header.ns,
        " sequence ", header.sequence, "; the file was moved or copied from elsewhere"));
  }

  if (has_hint) {
    absl::Status hinted = RecoverFromHint(ns, sequence, *size);
    if (hinted.ok()) {
      ++stats_.hint_files;
      n.sealed[sequence] = SealedSegment{std::move(file), *size, /*hinted=*/true};
      return absl::OkStatus();
    }
    // Nothing was applied. The hint goes (the background work writes a new one), so a
    // stale hint can never be mistaken for a good one later.
    LOG(WARNING) << path << ": " << hinted.message() << "; scanning the segment instead";
    const std::string hint = absl::StrCat(ns_dir, "/", HintFileName(sequence));
    if (absl::Status s = env_->RemoveFile(hint); !s.ok()) return s;
    if (absl::Status s = env_->SyncDir(ns_dir); !s.ok()) return s;
  }

  stats_.bytes_scanned += *size;
  // The scan's rule for damage (segment_reader.h): damage followed by intact records is
  // counted, logged and skipped, and those records are kept; in the active segment, damage
  // after the last intact record is the torn tail of an interrupted write, truncated below.
  SegmentReader reader(file.get(), kSegmentHeaderSize, *size);
  std::vector<SegmentDamage> damage;
  ScannedRecord record;
  for (;;) {
    absl::StatusOr<SegmentReader::Result> result = reader.Next(&record);
    if (!result.ok()) return result.status();
    if (*result == SegmentReader::Result::kEnd) break;
    if (*result == SegmentReader::Result::kRecord) {
      if (absl::Status s = ApplyRecovered(ns, sequence, record); !s.ok()) return s;
      continue;
    }
    damage.push_back(reader.damage());
  }
  const uint64_t tail = active ? reader.intact_end() : *size;
  for (const SegmentDamage& d : damage) {
    if (d.offset >= tail) {
      // The end of the log: whatever a crash left half-written. Cut off below so new
      // records follow the last intact one.
      LOG(WARNING) << path << ": torn tail, " << DescribeDamage(d) << "; truncating "
                   << (*size - tail) << " bytes";
      break;
    }
    ++stats_.corrupt_records;
    LOG(ERROR) << path << ": " << DescribeDamage(d) << "; never served, its key is lost";
  }
  uint64_t valid_end = *size;
  if (tail < *size) {
    if (absl::Status s = file->Truncate(tail); !s.ok()) return s;
    if (absl::Status s = file->DataSync(); !s.ok()) return s;
    stats_.torn_bytes_truncated += *size - tail;
    valid_end = tail;
  }

  if (active) {
    n.active = std::make_unique<SegmentWriter>(env_, ns_dir, expected, std::move(file),
                                               valid_end);
  } else {
    n.sealed[sequence] = SealedSegment{std::move(file), *size};
  }
  return absl::OkStatus();
}

absl::Status LogEngine::RecoverFromHint(uint32_t ns, uint64_t sequence, uint64_t size) {
  const std::string path = absl::StrCat(NamespaceDir(ns), "/", HintFileName(sequence));
  absl::StatusOr<std::string> bytes = ReadFileToString(env_, path);
  if (!bytes.ok()) return bytes.status();
  HintHeader header;
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(*bytes, &header);
  if (!records.ok()) return records.status();
  if (header.format_version != kFormatVersion || header.shard_id != options_.shard_id ||
      header.ns != ns || header.sequence != sequence) {
    return absl::DataLossError("hint file names another segment");
  }
  if (header.segment_size != size) {
    return absl::DataLossError(absl::StrCat("hint file describes ", header.segment_size,
                                            " bytes of segment, which has ", size));
  }
  stats_.corrupt_records += header.corrupt_records;
  for (const ScannedRecord& record : *records) {
    if (absl::Status s = ApplyRecovered(ns, sequence, record); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LogEngine::ApplyRecovered(uint32_t ns, uint64_t sequence,
                                       const ScannedRecord& record) {
  Namespace& n = namespaces_[ns];
  ++stats_.records;
  clock_.Observe(record.revision);
  switch (record.type) {
    case RecordType::kPut:
      // Kept even if expired by now: a later expire-only record may extend it.
      // RecoverNamespace drops what is still expired at the end.
      n.index.Upsert(record.key, IndexEntry{sequence, record.offset, record.size,
                                            record.value_len, record.meta_len,
                                            record.revision, record.expire_at_ms});
      return absl::OkStatus();
    case RecordType::kTombstone:
      n.index.Erase(record.key);
      return absl::OkStatus();
    case RecordType::kExpire:
      // Applies to the put it follows; without one (deleted or flushed since) it is moot.
      if (const IndexEntry* found = n.index.Find(record.key)) {
        IndexEntry entry = *found;
        entry.revision = record.revision;
        entry.expire_at_ms = record.expire_at_ms;
        n.index.Upsert(record.key, entry);
      }
      return absl::OkStatus();
    case RecordType::kFlush:
      n.index.Clear();
      return absl::OkStatus();
  }
  return absl::InternalError("unreachable: unknown record type passed the decoder");
}

// ---- Reads ----------------------------------------------------------------------------------

int64_t LogEngine::NowUs() const {
  return options_.now_us != nullptr ? options_.now_us() : absl::ToUnixMicros(absl::Now());
}

bool LogEngine::OnEngineThread() const {
  if (owner_ == std::thread::id()) owner_ = std::this_thread::get_id();
  return owner_ == std::this_thread::get_id();
}

std::optional<IndexEntry> LogEngine::FindLive(Namespace& n, std::string_view key) {
  return FindLive(n, key, n.index.Hash(key), NowMs());
}

std::optional<IndexEntry> LogEngine::FindLive(Namespace& n, std::string_view key, size_t hash,
                                              int64_t now_ms) {
  return LiveOrExpire(n, key, n.index.Find(key, hash), now_ms);
}

std::optional<IndexEntry> LogEngine::FindLiveMemo(Namespace& n, std::string_view key,
                                                  const ReadAheadMemo& m, int64_t now_ms) {
  const std::optional<const IndexEntry*> memo = MemoEntry(m);
  if (!memo.has_value()) return FindLive(n, key, n.index.Hash(key), now_ms);
  return LiveOrExpire(n, key, *memo, now_ms);
}

std::optional<IndexEntry> LogEngine::FindForWrite(uint32_t ns, std::string_view key,
                                                  WriteHint* hint) {
  Namespace& n = namespaces_[ns];
  const ReadAheadMemo* memo = memo_.empty() ? nullptr : TakeMemo(ns, key);
  std::optional<const IndexEntry*> found;
  if (memo != nullptr) {
    PrefetchMemoAhead();
    found = MemoEntry(*memo);
    hint->index_hash = memo_index_seeds_[ns] == n.index.hash_seed() ? memo->index_hash
                                                                     : n.index.Hash(key);
    if (memo->cache_hashed) hint->cache_hash = memo->cache_hash;
    if (memo->write_only && memo_cache_version_ == cache_.version()) {
      hint->cached = memo->cached;
      hint->cache_version = memo_cache_version_;
    }
  } else {
    hint->index_hash = n.index.Hash(key);
  }
  if (!found.has_value()) found = n.index.Find(key, hint->index_hash);
  std::optional<IndexEntry> live = LiveOrExpire(n, key, *found, NowMs());
  // An expired entry was erased (or, during a commit, left for StagePut's Upsert to replace);
  // the expiry's tombstone changed both versions.
  if (live.has_value()) {
    hint->at = *found;
    hint->index_version = n.index.version();
  }
  return live;
}

std::optional<IndexEntry> LogEngine::LiveOrExpire(Namespace& n, std::string_view key,
                                                  const IndexEntry* entry, int64_t now_ms) {
  if (entry == nullptr) return std::nullopt;
  if (entry->LiveAt(now_ms)) return *entry;
  // Expiring writes a tombstone: not while a commit is in flight (the key just reads as
  // absent; a later access or the sweep expires it).
  if (!commit_in_flight_) ExpireKey(static_cast<uint32_t>(&n - namespaces_.data()), key);
  return std::nullopt;
}

void LogEngine::ExpireKey(uint32_t ns, std::string_view key) {
  ++expired_keys_;
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (writer.ok()) {
    // A tombstone, although recovery would drop the expired put by itself: watchers and
    // replay must see the expiry as a mutation with its own revision.
    StageTombstone(ns, *writer, key);
  } else {
    namespaces_[ns].index.Erase(key);
  }
}

void LogEngine::NoteChange(Change change) {
  if (collect_changes_) staged_changes_.push_back(std::move(change));
}

void LogEngine::set_collect_changes(bool on) {
  collect_changes_ = on;
  if (!on) {
    staged_changes_.clear();
    committed_changes_.clear();
  }
}

std::vector<Change> LogEngine::TakeChanges() {
  std::vector<Change> out;
  out.swap(committed_changes_);
  return out;
}

uint64_t LogEngine::Watermark() { return clock_.Watermark(NowMs()); }

absl::Status LogEngine::ReadReplayFloor(uint32_t ns) {
  const std::string path = absl::StrCat(NamespaceDir(ns), "/", kReplayFloorFile);
  absl::StatusOr<bool> exists = env_->Exists(path);
  if (!exists.ok()) return exists.status();
  if (!*exists) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<File>> file = env_->OpenFile(path, Env::OpenMode::kExisting);
  if (!file.ok()) return file.status();
  char buf[64] = {};
  absl::StatusOr<size_t> got = (*file)->Read(0, sizeof(buf) - 1, buf);
  if (!got.ok()) return got.status();
  uint64_t floor = 0;
  if (!absl::SimpleAtoi(absl::string_view(buf, *got), &floor)) {
    // Unreadable: assume every revision seen so far may have been dropped (safe: replays
    // from before now are refused rather than served with gaps).
    floor = clock_.last();
    LOG(ERROR) << path << ": unreadable; replay floor set to " << floor;
  }
  replay_floor_[ns] = floor;
  return absl::OkStatus();
}

absl::Status LogEngine::WriteReplayFloor(uint32_t ns, uint64_t floor) {
  const std::string dir = NamespaceDir(ns);
  const std::string path = absl::StrCat(dir, "/", kReplayFloorFile);
  const std::string tmp = absl::StrCat(path, kTempSuffix);
  absl::StatusOr<std::unique_ptr<File>> file = env_->OpenFile(tmp, Env::OpenMode::kCreateTruncate);
  if (!file.ok()) return file.status();
  if (absl::Status s = (*file)->Write(0, absl::StrCat(floor, "\n")); !s.ok()) return s;
  if (absl::Status s = (*file)->DataSync(); !s.ok()) return s;
  if (absl::Status s = env_->Rename(tmp, path); !s.ok()) return s;
  if (absl::Status s = env_->SyncDir(dir); !s.ok()) return s;
  replay_floor_[ns] = floor;
  return absl::OkStatus();
}

absl::Status LogEngine::Replay(uint32_t ns, uint64_t since,
                               const std::function<void(const Change&)>& fn) {
  absl::StatusOr<ReplayCursor> cursor = StartReplay(ns, since);
  if (!cursor.ok()) return cursor.status();
  absl::StatusOr<bool> done = false;
  while (done.ok() && !*done) done = ReplayStep(&*cursor, absl::InfiniteDuration(), fn);
  EndReplay(*cursor);
  return done.status();
}

absl::StatusOr<ReplayCursor> LogEngine::StartReplay(uint32_t ns, uint64_t since) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  if (since < replay_floor_[ns]) {
    return absl::FailedPreconditionError(absl::StrCat(
        "SINCE ", since, " is below the replay floor of namespace ", ns,
        ": reclaim has dropped older history; the oldest revision still replayable is ",
        replay_floor_[ns]));
  }
  ++replays_open_[ns];
  ReplayCursor cursor;
  cursor.ns = ns;
  cursor.since = since;
  return cursor;
}

void LogEngine::EndReplay(const ReplayCursor& cursor) {
  DCHECK(OnEngineThread());
  if (cursor.ns < kNamespaceCount && replays_open_[cursor.ns] > 0) --replays_open_[cursor.ns];
}

absl::StatusOr<bool> LogEngine::ReplayStep(ReplayCursor* cursor, absl::Duration budget,
                                           const std::function<void(const Change&)>& fn) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(cursor->ns); !s.ok()) return s;
  const uint32_t ns = cursor->ns;
  Namespace& n = namespaces_[ns];
  const absl::Time deadline =
      budget == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + budget;
  size_t records = 0;
  while (true) {
    // The segment to read: the cursor's, else the next one the log wrote (reclaim outputs
    // restate records at or below the floor, which a valid `since` excludes anyway; reclaim
    // waits while a replay is open, so no log segment goes away under the cursor).
    File* file = nullptr;
    uint64_t size = 0;
    auto locate = [&](uint64_t sequence) {
      if (auto it = n.sealed.find(sequence); it != n.sealed.end()) {
        file = it->second.file.get();
        size = it->second.size;
      } else if (n.active != nullptr && n.active->sequence() == sequence) {
        file = n.active->file();
        size = n.active->written_size();
      }
    };
    if (cursor->segment != 0) locate(cursor->segment);
    if (file == nullptr || cursor->offset >= size) {
      // Next log segment after the cursor's.
      uint64_t next = 0;
      for (auto it = n.sealed.upper_bound(cursor->segment); it != n.sealed.end(); ++it) {
        if (IsLogSequence(it->first)) {
          next = it->first;
          break;
        }
      }
      if (next == 0 && n.active != nullptr && n.active->sequence() > cursor->segment &&
          n.active->file() != nullptr) {
        next = n.active->sequence();
      }
      if (next == 0) return true;  // every committed record was delivered
      cursor->segment = next;
      cursor->offset = kSegmentHeaderSize;
      continue;
    }
    SegmentReader reader(file, cursor->offset, size, &replay_scratch_);
    ScannedRecord record;
    for (;;) {
      absl::StatusOr<SegmentReader::Result> result = reader.Next(&record);
      if (!result.ok()) return result.status();
      if (*result == SegmentReader::Result::kEnd) {
        cursor->offset = size;  // on to the next segment
        break;
      }
      if (*result == SegmentReader::Result::kDamage) {
        // Damage recovery (or reclaim) already counted; a replay only skips it, as they do.
        LOG(WARNING) << file->path() << ": replay skips damage, "
                     << DescribeDamage(reader.damage());
        cursor->offset = reader.offset();
        continue;
      }
      cursor->offset = reader.offset();
      cursor->last_revision = std::max(cursor->last_revision, record.revision);
      if (record.revision > cursor->since) {
        Change change;
        change.ns = ns;
        change.revision = record.revision;
        bool deliver = true;
        switch (record.type) {
          case RecordType::kPut: {
            change.kind = Change::Kind::kSet;
            change.key = record.key;
            change.expire_at_ms = record.expire_at_ms;
            std::string bytes(record.meta_len + record.value_len, '\0');
            absl::StatusOr<size_t> got =
                file->Read(record.value_offset - record.meta_len, bytes.size(), bytes.data());
            if (!got.ok()) return got.status();
            change.metadata = bytes.substr(0, record.meta_len);
            change.value = bytes.substr(record.meta_len);
            break;
          }
          case RecordType::kTombstone:
            change.kind = Change::Kind::kDelete;
            change.key = record.key;
            break;
          case RecordType::kFlush:
            change.kind = Change::Kind::kFlush;
            break;
          default:
            deliver = false;  // expire-only records change no value
        }
        if (deliver) fn(change);
      }
      if (++records % 64 == 0 && absl::Now() >= deadline) return false;
    }
  }
}

absl::StatusOr<LogEngine::RecordData> LogEngine::ReadRecord(uint32_t ns, std::string_view key,
                                                            const IndexEntry& entry,
                                                            bool with_value) {
  if (!with_value && entry.meta_len == 0) return RecordData{};
  if (with_value && entry.meta_len == 0) {
    if (const std::string* cached = cache_.Get(CacheKeyView(ns, key), entry.revision)) {
      return RecordData{*cached, {}};
    }
    return ReadAndCache(ns, key, entry);
  }
  return ReadRecordUncached(ns, key, entry, with_value);
}

absl::StatusOr<LogEngine::RecordData> LogEngine::ReadAndCache(uint32_t ns, std::string_view key,
                                                              const IndexEntry& entry) {
  absl::StatusOr<RecordData> data = ReadRecordUncached(ns, key, entry, /*with_value=*/true);
  if (data.ok()) cache_.Insert(CacheKey(ns, key), entry.revision, data->value);
  return data;
}

absl::StatusOr<LogEngine::RecordData> LogEngine::ReadRecordUncached(uint32_t ns,
                                                                    std::string_view key,
                                                                    const IndexEntry& entry,
                                                                    bool with_value) {
  Namespace& n = namespaces_[ns];
  const bool in_active = n.active != nullptr && n.active->sequence() == entry.segment;
  std::string buf;
  std::string_view bytes;
  std::string path;
  auto read_ahead = read_ahead_.end();
  if (!read_ahead_.empty()) {
    read_ahead = read_ahead_.find(std::make_tuple(ns, entry.segment, entry.record_offset));
  }
  if (in_active && n.active->IsStaged(entry.record_offset)) {
    bytes = n.active->ReadStaged(entry.record_offset, entry.record_size);
    path = n.active->path();
  } else if (read_ahead != read_ahead_.end() && read_ahead->second.size() == entry.record_size) {
    // Read ahead through the ring (ReadAhead); checked below like any read.
    bytes = read_ahead->second;
    const File* file = in_active ? nullptr : ReadableSegment(ns, entry.segment);
    path = in_active         ? n.active->path()
           : file != nullptr ? file->path()
                             : absl::StrCat("segment ", entry.segment);
  } else {
    buf.resize(entry.record_size);
    absl::StatusOr<size_t> got;
    if (in_active) {
      got = n.active->ReadFile(entry.record_offset, buf.size(), buf.data());
      path = n.active->path();
    } else {
      File* file = ReadableSegment(ns, entry.segment);
      if (file == nullptr) {
        return absl::InternalError(absl::StrCat("namespace ", ns, ": index names segment ",
                                                entry.segment, ", which is not open"));
      }
      got = file->Read(entry.record_offset, buf.size(), buf.data());
      path = file->path();
    }
    if (!got.ok()) return got.status();
    buf.resize(*got);
    bytes = buf;
  }

  RecordView record;
  size_t consumed = 0;
  // The put's own revision is at most the entry's: an expire-only record may have followed.
  if (bytes.size() != entry.record_size ||
      DecodeRecord(bytes, kMaxValueBytesLimit, &record, &consumed) != DecodeStatus::kOk ||
      consumed != bytes.size() || record.type != RecordType::kPut || record.key != key ||
      record.revision > entry.revision || record.value.size() != entry.value_len ||
      record.metadata.size() != entry.meta_len) {
    ++corrupt_records_;
    LOG(ERROR) << path << ": record at offset " << entry.record_offset
               << " fails its checksum or does not match the index";
    return absl::DataLossError(absl::StrCat(path, ": damaged record at offset ",
                                            entry.record_offset));
  }
  RecordData data;
  data.metadata.assign(record.metadata.data(), record.metadata.size());
  if (with_value) {
    if (buf.empty()) {
      data.value.assign(record.value.data(), record.value.size());
    } else {
      // Keep the value in place of the whole record rather than copying it out.
      const size_t value_start = record.value.data() - buf.data();
      buf.erase(0, value_start);
      buf.resize(entry.value_len);
      data.value = std::move(buf);
    }
  }
  return data;
}

File* LogEngine::ReadableSegment(uint32_t ns, uint64_t sequence) {
  Namespace& n = namespaces_[ns];
  if (auto it = n.sealed.find(sequence); it != n.sealed.end()) return it->second.file.get();
  if (reclaim_.has_value() && reclaim_->ns == ns && reclaim_->output_sequence == sequence) {
    return reclaim_->output.get();
  }
  return nullptr;
}

absl::Status LogEngine::ReadOld(uint32_t ns, std::string_view key,
                                const std::optional<IndexEntry>& entry, Entry* out) {
  *out = Entry{};
  if (!entry.has_value()) return absl::OkStatus();
  absl::StatusOr<RecordData> data = ReadRecord(ns, key, *entry, /*with_value=*/true);
  if (!data.ok()) return data.status();
  out->value = std::move(data->value);
  out->metadata = std::move(data->metadata);
  out->revision = entry->revision;
  out->expire_at_ms = entry->expire_at_ms;
  return absl::OkStatus();
}

absl::StatusOr<Entry> LogEngine::Get(uint32_t ns, std::string_view key,
                                     const ReadOptions& options) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  Namespace& n = namespaces_[ns];
  const ReadAheadMemo* memo = memo_.empty() ? nullptr : TakeMemo(ns, key);
  const std::optional<IndexEntry> entry =
      memo != nullptr ? FindLiveMemo(n, key, *memo, NowMs()) : FindLive(n, key);
  if (!entry.has_value()) return absl::NotFoundError("no such key");
  if (memo != nullptr && options.value && entry->meta_len == 0) {
    if (const std::string* cached = MemoCachedValue(*memo, *entry)) {
      return Entry{*cached, {}, entry->revision, entry->expire_at_ms};
    }
  }
  absl::StatusOr<RecordData> data = ReadRecord(ns, key, *entry, options.value);
  if (!data.ok()) return data.status();
  return Entry{std::move(data->value), std::move(data->metadata), entry->revision,
               entry->expire_at_ms};
}

absl::Status LogEngine::MultiGet(uint32_t ns, size_t count,
                                 absl::FunctionRef<std::string_view(size_t)> key_at,
                                 absl::FunctionRef<void(size_t, std::string_view)> found) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  if (!memo_.empty()) return MultiGetFromMemo(ns, count, key_at, found);
  // Without a read-ahead memo (no ring, or a call outside a batch): a batch of thousands of
  // keys pays its cache misses in parallel in the prefetch pipeline, not one after the other.
  multi_get_keys_.clear();
  for (size_t i = 0; i < count; ++i) multi_get_keys_.push_back({ns, key_at(i), true});
  KeyHashes* hashes = PrefetchHashes(count);
  Namespace& n = namespaces_[ns];
  const int64_t now_ms = NowMs();
  absl::Status status;
  const auto look_up = [&](size_t i) {
    if (!status.ok()) return;
    const std::string_view key = multi_get_keys_[i].key;
    const std::optional<IndexEntry> entry = FindLive(n, key, hashes[i].index, now_ms);
    if (!entry.has_value()) return;
    const std::string* cached =
        entry->meta_len == 0
            ? cache_.Get(CacheKeyView(ns, key), hashes[i].cache, entry->revision)
            : nullptr;
    status = DeliverValue(ns, key, *entry, cached, [&](std::string_view v) { found(i, v); });
  };
  RunPrefetchPipeline(multi_get_keys_.data(), count, hashes, look_up);
  if (multi_get_keys_.capacity() > kMaxRetainedPrefetchHashes) {
    std::vector<ReadAheadKey>().swap(multi_get_keys_);
  }
  return status;
}

absl::Status LogEngine::MultiGetFromMemo(
    uint32_t ns, size_t count, absl::FunctionRef<std::string_view(size_t)> key_at,
    absl::FunctionRef<void(size_t, std::string_view)> found) {
  Namespace& n = namespaces_[ns];
  const int64_t now_ms = NowMs();
  for (size_t i = 0; i < count; ++i) {
    PrefetchMemoAhead();
    const std::string_view key = key_at(i);
    const ReadAheadMemo* memo = memo_.empty() ? nullptr : TakeMemo(ns, key);
    const std::optional<IndexEntry> entry = memo != nullptr
                                                ? FindLiveMemo(n, key, *memo, now_ms)
                                                : FindLive(n, key, n.index.Hash(key), now_ms);
    if (!entry.has_value()) continue;
    const std::string* cached = nullptr;
    if (entry->meta_len == 0) {
      if (memo != nullptr) cached = MemoCachedValue(*memo, *entry);
      if (cached == nullptr) cached = cache_.Get(CacheKeyView(ns, key), entry->revision);
    }
    if (absl::Status s =
            DeliverValue(ns, key, *entry, cached, [&](std::string_view v) { found(i, v); });
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status LogEngine::DeliverValue(uint32_t ns, std::string_view key, const IndexEntry& entry,
                                     const std::string* cached,
                                     absl::FunctionRef<void(std::string_view)> found) {
  if (cached != nullptr) {
    found(*cached);
    return absl::OkStatus();
  }
  absl::StatusOr<RecordData> data = entry.meta_len == 0
                                        ? ReadAndCache(ns, key, entry)
                                        : ReadRecordUncached(ns, key, entry, /*with_value=*/true);
  if (!data.ok()) return data.status();
  found(data->value);
  return absl::OkStatus();
}

void LogEngine::PrefetchMemoAhead() const {
  // The memo's entries are contiguous; the index nodes and cache entries they point to were
  // read moments ago but may have left the CPU's caches in a batch of thousands of keys.
  if (const size_t ahead = memo_cursor_ + kMemoPrefetchDistance; ahead < memo_.size()) {
    absl::base_internal::PrefetchT0(memo_[ahead].entry);
    absl::base_internal::PrefetchT0(memo_[ahead].cached);
  }
}

const LogEngine::ReadAheadMemo* LogEngine::TakeMemo(uint32_t ns, std::string_view key) {
  while (memo_cursor_ < memo_.size()) {
    const ReadAheadMemo& m = memo_[memo_cursor_++];
    if (m.key_data == key.data() && m.key_size == key.size() && m.ns == ns) return &m;
  }
  memo_.clear();
  memo_cursor_ = 0;
  return nullptr;
}

std::optional<const IndexEntry*> LogEngine::MemoEntry(const ReadAheadMemo& m) const {
  if (!m.looked_up || namespaces_[m.ns].index.version() != memo_index_versions_[m.ns]) {
    return std::nullopt;
  }
  return m.entry;
}

const std::string* LogEngine::MemoCachedValue(const ReadAheadMemo& m, const IndexEntry& entry) {
  if (m.cached == nullptr || cache_.version() != memo_cache_version_) return nullptr;
  return cache_.Hit(m.cached, entry.revision);
}

absl::StatusOr<bool> LogEngine::Exists(uint32_t ns, std::string_view key) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  return FindLive(namespaces_[ns], key).has_value();
}

absl::StatusOr<uint64_t> LogEngine::KeyCount(uint32_t ns) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  return namespaces_[ns].index.size();
}

absl::StatusOr<ScanResult> LogEngine::Scan(uint32_t ns, const ScanOptions& options) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  KeyIndex& index = namespaces_[ns].index;
  const std::string_view prefix = options.prefix;
  KeyIndex::const_iterator it;
  if (options.start_after < prefix) {
    it = index.LowerBound(prefix);  // every key with the prefix sorts after start_after
  } else if (options.start_inclusive) {
    it = index.LowerBound(options.start_after);
  } else {
    it = index.UpperBound(options.start_after);
  }
  const int64_t now_ms = NowMs();
  ScanResult result;
  size_t examined = 0;
  const auto done = [&] {
    return (options.limit != 0 && result.keys.size() >= options.limit) ||
           (options.max_examined != 0 && examined >= options.max_examined);
  };
  while (it != index.end() && !done()) {
    const std::string_view key = it->first;
    if (!HasPrefix(key, prefix)) {
      it = index.end();
      break;
    }
    if (!it->second.LiveAt(now_ms)) {
      it = index.Erase(it);
      ++expired_keys_;
      continue;
    }
    ++examined;
    result.last_key.assign(key.data(), key.size());
    if (!options.filter || options.filter(key)) result.keys.emplace_back(key);
    ++it;
  }
  // Whether a live key with the prefix follows; expired ones met on the way are dropped.
  while (it != index.end() && HasPrefix(it->first, prefix)) {
    if (it->second.LiveAt(now_ms)) {
      result.more = true;
      break;
    }
    it = index.Erase(it);
    ++expired_keys_;
  }
  return result;
}

KeyIndex::const_iterator LogEngine::RandomProbe(const KeyIndex& index) {
  // A random descent of the trie the sorted keys imply: at each branching position, draw a
  // byte between the smallest and the largest key of the current range (or "the key that
  // ends here"), and narrow the range to the keys continuing with that byte, found with two
  // B-tree lookups. Every key can come up; keys in sparse branches come up more often.
  auto lo = index.begin();
  auto hi = std::prev(index.end());
  std::string probe;
  while (lo != hi) {
    const std::string& a = lo->first;
    const std::string& b = hi->first;
    size_t p = probe.size();
    while (p < a.size() && p < b.size() && a[p] == b[p]) ++p;
    probe.assign(a, 0, p);
    // a < b, so either a ends at p (a is a prefix of everything in the range) or a[p] < b[p].
    const bool a_ends = a.size() == p;
    const int lo_byte = static_cast<unsigned char>(a_ends ? std::next(lo)->first[p] : a[p]);
    const int hi_byte = static_cast<unsigned char>(b[p]);
    const int choices = hi_byte - lo_byte + 1 + (a_ends ? 1 : 0);
    const int pick = std::uniform_int_distribution<int>(0, choices - 1)(rng_);
    if (a_ends && pick == choices - 1) return lo;
    const int c = lo_byte + pick;
    probe.push_back(static_cast<char>(c));
    auto first = index.LowerBound(probe);  // exists: b >= probe
    if (!HasPrefix(first->first, probe)) return first;  // no key continues with c
    auto last = hi;
    if (c < 0xFF) {
      std::string bound = probe;
      bound.back() = static_cast<char>(c + 1);
      last = std::prev(index.LowerBound(bound));
    }
    lo = first;
    hi = last;
  }
  return lo;
}

absl::StatusOr<std::string> LogEngine::RandomKey(uint32_t ns) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  KeyIndex& index = namespaces_[ns].index;
  const int64_t now_ms = NowMs();
  constexpr int kProbes = 8;
  for (int attempt = 0; attempt < kProbes && !index.empty(); ++attempt) {
    auto it = RandomProbe(index);
    if (it->second.LiveAt(now_ms)) return it->first;
    index.Erase(it);
    ++expired_keys_;
  }
  // Unlucky probes met expired keys only: take the first live key, dropping expired ones.
  for (auto it = index.begin(); it != index.end();) {
    if (it->second.LiveAt(now_ms)) return it->first;
    it = index.Erase(it);
    ++expired_keys_;
  }
  return absl::NotFoundError("namespace is empty");
}

// ---- Writes ---------------------------------------------------------------------------------

absl::StatusOr<SegmentWriter*> LogEngine::WritableSegment(uint32_t ns) {
  if (commit_in_flight_) {
    return absl::FailedPreconditionError("a commit is in flight; mutations wait for it");
  }
  if (clock_.exhausted()) {
    return absl::ResourceExhaustedError(
        "revision space exhausted (every revision below 2^53 is used); this shard is read-only");
  }
  Namespace& n = namespaces_[ns];
  if (n.active == nullptr) {
    // The first segment of a namespace never written, or the one after a sealed segment.
    const uint64_t sequence = NextLogSequence(n.sealed.empty() ? 0 : n.sealed.rbegin()->first);
    n.active = std::make_unique<SegmentWriter>(
        env_, NamespaceDir(ns), SegmentHeader{kFormatVersion, options_.shard_id, ns, sequence});
  }
  if (!n.active->status().ok()) return n.active->status();
  return n.active.get();
}

uint64_t LogEngine::StagePut(uint32_t ns, SegmentWriter* writer, std::string_view key,
                             std::string_view value, std::string_view metadata,
                             int64_t expire_at_ms, const WriteHint* hint) {
  Namespace& n = namespaces_[ns];
  RecordView record;
  record.type = RecordType::kPut;
  record.revision = NextRevision();
  record.expire_at_ms = expire_at_ms;
  record.key = key;
  record.metadata = metadata;
  record.value = value;
  const uint64_t offset = writer->Stage(record);
  const IndexEntry entry{
      writer->sequence(),
      offset,
      static_cast<uint32_t>(EncodedRecordSize(key.size(), metadata.size(), value.size())),
      static_cast<uint32_t>(value.size()),
      static_cast<uint32_t>(metadata.size()),
      record.revision,
      expire_at_ms};
  std::optional<IndexEntry> previous;
  if (hint == nullptr) {
    previous = n.index.Upsert(key, entry);
  } else if (hint->at != nullptr && hint->index_version == n.index.version()) {
    previous = n.index.Replace(hint->at, key, entry);
  } else {
    previous = n.index.Upsert(key, hint->index_hash, entry);
  }
  PushUndo(n, key, previous);
  // Write-allocate: a value just written is likely read soon (Redis users expect GET after
  // SET from memory). Entries are checked against the index revision, so one of a batch that
  // is rolled back is never served. Values with metadata are not cached (see cache_).
  if (metadata.empty()) {
    const std::string_view cache_key = CacheKeyView(ns, key);
    if (hint != nullptr && hint->cache_hash.has_value()) {
      const S3FifoCache::Handle known =
          hint->cache_version == cache_.version() ? hint->cached : nullptr;
      cache_.Insert(cache_key, *hint->cache_hash, record.revision, value, known);
    } else {
      cache_.Insert(cache_key, record.revision, value);
    }
  }
  if (collect_changes_) {
    NoteChange(Change{Change::Kind::kSet, ns, std::string(key), std::string(value),
                      std::string(metadata), record.revision, expire_at_ms});
  }
  return record.revision;
}

uint64_t LogEngine::StageTombstone(uint32_t ns, SegmentWriter* writer, std::string_view key) {
  Namespace& n = namespaces_[ns];
  RecordView record;
  record.type = RecordType::kTombstone;
  record.revision = NextRevision();
  record.key = key;
  writer->Stage(record);
  PushUndo(n, key, n.index.Erase(key));
  cache_.Erase(CacheKeyView(ns, key));  // frees its memory now (a rollback only costs a miss)
  if (collect_changes_) {
    NoteChange(Change{Change::Kind::kDelete, ns, std::string(key), {}, {}, record.revision, 0});
  }
  return record.revision;
}

absl::StatusOr<PutResult> LogEngine::Put(uint32_t ns, std::string_view key,
                                         std::string_view value, const PutOptions& options,
                                         Entry* old) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key of ", key.size(),
                                                   " bytes exceeds the limit of ",
                                                   kMaxKeyBytes));
  }
  if (value.size() > options_.max_value_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("value of ", value.size(),
                                                   " bytes exceeds max_value_bytes ",
                                                   options_.max_value_bytes));
  }
  if (!options.keep_metadata && options.metadata.size() > kMaxMetaBytes) {
    return absl::InvalidArgumentError(absl::StrCat("metadata of ", options.metadata.size(),
                                                   " bytes exceeds the limit of ",
                                                   kMaxMetaBytes));
  }
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();

  WriteHint hint;
  const std::optional<IndexEntry> current = FindForWrite(ns, key, &hint);
  if (old != nullptr) {
    if (absl::Status s = ReadOld(ns, key, current, old); !s.ok()) return s;
  }
  PutResult result;
  result.had_old = current.has_value();
  const uint64_t current_revision = current.has_value() ? current->revision : 0;
  bool holds = true;
  switch (options.condition) {
    case PutOptions::Condition::kAlways:
      break;
    case PutOptions::Condition::kIfAbsent:
      holds = !current.has_value();
      break;
    case PutOptions::Condition::kIfPresent:
      holds = current.has_value();
      break;
    case PutOptions::Condition::kIfRevision:
      holds = current_revision == options.if_revision;
      break;
  }
  if (!holds) return result;

  std::string kept_metadata;
  std::string_view metadata = options.metadata;
  if (options.keep_metadata) {
    metadata = {};
    if (current.has_value() && current->meta_len > 0) {
      if (old != nullptr) {
        kept_metadata = old->metadata;
      } else {
        absl::StatusOr<RecordData> data = ReadRecord(ns, key, *current, /*with_value=*/false);
        if (!data.ok()) return data.status();
        kept_metadata = std::move(data->metadata);
      }
      metadata = kept_metadata;
    }
  }
  const int64_t expire_at_ms =
      options.keep_ttl ? (current.has_value() ? current->expire_at_ms : 0) : options.expire_at_ms;
  // The hint's pointers hold only if nothing since FindForWrite() (ReadOld, a metadata read
  // that fills the cache and evicts) changed the versions; StagePut checks.
  result.revision = StagePut(ns, *writer, key, value, metadata, expire_at_ms, &hint);
  result.written = true;
  return result;
}

absl::StatusOr<DeleteResult> LogEngine::Delete(uint32_t ns, std::string_view key,
                                               const DeleteOptions& options, Entry* old) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  Namespace& n = namespaces_[ns];
  const std::optional<IndexEntry> current = FindLive(n, key);
  if (old != nullptr) {
    if (absl::Status s = ReadOld(ns, key, current, old); !s.ok()) return s;
  }
  DeleteResult result;
  if (options.if_revision.has_value() &&
      *options.if_revision != (current.has_value() ? current->revision : 0)) {
    result.condition_failed = true;
    return result;
  }
  if (!current.has_value()) return result;
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();
  result.revision = StageTombstone(ns, *writer, key);
  result.deleted = true;
  return result;
}

absl::StatusOr<uint64_t> LogEngine::SetExpiry(uint32_t ns, std::string_view key,
                                              int64_t expire_at_ms) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  Namespace& n = namespaces_[ns];
  const std::optional<IndexEntry> current = FindLive(n, key);
  if (!current.has_value()) return absl::NotFoundError("no such key");
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();
  if (expire_at_ms != 0 && expire_at_ms <= NowMs()) {
    return StageTombstone(ns, *writer, key);  // EXPIRE in the past deletes (Redis)
  }
  RecordView record;
  record.type = RecordType::kExpire;
  record.revision = NextRevision();
  record.expire_at_ms = expire_at_ms;
  record.key = key;
  (*writer)->Stage(record);
  IndexEntry entry = *current;  // the value stays where it is
  entry.revision = record.revision;
  entry.expire_at_ms = expire_at_ms;
  PushUndo(n, key, n.index.Upsert(key, entry));
  return record.revision;
}

absl::StatusOr<uint64_t> LogEngine::Flush(uint32_t ns) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  Namespace& n = namespaces_[ns];
  // Replaying the log of an empty index yields an empty index already.
  if (n.index.empty()) return NextRevision();
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();
  RecordView record;
  record.type = RecordType::kFlush;
  record.revision = NextRevision();
  (*writer)->Stage(record);
  auto flushed = std::make_unique<KeyIndex>(std::move(n.index));
  n.index.Clear();  // a moved-from map is only valid, not necessarily empty
  UndoEntry undo;
  undo.flushed = std::move(flushed);
  n.undo.push_back(std::move(undo));
  n.sweep_cursor.clear();
  NoteChange(Change{Change::Kind::kFlush, ns, {}, {}, {}, record.revision, 0});
  return record.revision;
}

absl::StatusOr<RenameResult> LogEngine::Rename(uint32_t ns, std::string_view from,
                                               std::string_view to, bool only_if_absent) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  if (to.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key of ", to.size(),
                                                   " bytes exceeds the limit of ",
                                                   kMaxKeyBytes));
  }
  Namespace& n = namespaces_[ns];
  const std::optional<IndexEntry> source = FindLive(n, from);
  if (!source.has_value()) return absl::NotFoundError("no such key");
  RenameResult result;
  if (from == to) {
    result.renamed = true;
    return result;
  }
  if (only_if_absent && FindLive(n, to).has_value()) {
    result.condition_failed = true;
    return result;
  }
  absl::StatusOr<RecordData> data = ReadRecord(ns, from, *source, /*with_value=*/true);
  if (!data.ok()) return data.status();
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();
  // The put first: a write torn between the two records leaves both keys, never neither.
  result.revision = StagePut(ns, *writer, to, data->value, data->metadata, source->expire_at_ms);
  StageTombstone(ns, *writer, from);
  result.renamed = true;
  return result;
}

LogEngine::CommitBatch LogEngine::CollectCommitBatch() const {
  CommitBatch batch;
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    const Namespace& n = namespaces_[ns];
    if (n.active != nullptr && n.active->has_staged()) {
      batch.namespaces.push_back(ns);
      batch.sizes_before.push_back(n.active->written_size());
    }
  }
  return batch;
}

absl::Status LogEngine::Commit() {
  DCHECK(OnEngineThread());
  CHECK(!commit_in_flight_) << "Commit() while a CommitAsync() is in flight";
  const CommitBatch batch = CollectCommitBatch();
  const bool sync = options_.fsync == FsyncPolicy::kAlways;
  absl::Status failure;
  for (size_t i = 0; i < batch.namespaces.size() && failure.ok(); ++i) {
    SegmentWriter* writer = namespaces_[batch.namespaces[i]].active.get();
    absl::StatusOr<SegmentWriter::PendingWrite> write = writer->BeginFlush();
    if (!write.ok()) {
      failure = write.status();
      break;
    }
    failure = write->file->Write(write->offset, write->data);
    if (failure.ok() && sync) {
      failure = write->file->DataSync();
      // After a failed fdatasync the kernel may have dropped dirty pages of earlier writes
      // too: the writer refuses writes from now on.
      if (!failure.ok()) writer->Fail(failure);
    }
    if (failure.ok()) writer->EndFlush(sync);
  }
  return FinishCommit(batch, failure);
}

absl::Status LogEngine::FinishCommit(const CommitBatch& batch, const absl::Status& failure) {
  if (!failure.ok()) {
    staged_changes_.clear();
    RollbackBatch(batch.namespaces, batch.sizes_before);
    return absl::Status(failure.code(),
                        absl::StrCat("commit failed, batch rolled back: ", failure.message()));
  }
  for (uint32_t ns : batch.namespaces) ClearUndo(namespaces_[ns]);
  if (collect_changes_) {
    for (Change& change : staged_changes_) committed_changes_.push_back(std::move(change));
  }
  staged_changes_.clear();
  // The batch is written (and synced as the policy says): it stands even if sealing fails,
  // which only makes the namespace refuse later writes.
  for (uint32_t ns : batch.namespaces) {
    if (namespaces_[ns].active->written_size() >= options_.segment_bytes) {
      if (absl::Status s = SealActive(ns); !s.ok()) LOG(ERROR) << "sealing failed: " << s;
    }
  }
  return absl::OkStatus();
}

// ---- Completion-driven I/O ------------------------------------------------------------------

void LogEngine::AttachRing(Uring* ring) {
  DCHECK(OnEngineThread());
  CHECK(!io_pending()) << "ring changed with I/O in flight";
  ring_ = ring;
  inline_appends_ = false;
  if (ring_ == nullptr) return;
  switch (options_.append_path) {
    case Options::AppendPath::kRing:
      return;
    case Options::AppendPath::kInline:
      inline_appends_ = true;
      return;
    case Options::AppendPath::kAuto:
      break;
  }
  // Does this filesystem take a buffered write without blocking? If not (EOPNOTSUPP), the
  // ring would punt every append to io-wq (Options::AppendPath).
  const std::string probe = dir_ + "/.append-probe";
  const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char byte = 0;
  iovec iov{&byte, 1};
  const ssize_t n = ::pwritev2(fd, &iov, 1, 0, RWF_NOWAIT);
  inline_appends_ = n < 0 && errno == EOPNOTSUPP;
  ::close(fd);
  ::unlink(probe.c_str());
  LOG(INFO) << dir_ << ": log appends "
            << (inline_appends_ ? "with pwrite on the engine thread (the filesystem has no "
                                  "non-blocking buffered writes: io_uring would punt them)"
                                : "through io_uring");
}

bool LogEngine::io_pending() const {
  return commit_in_flight_ || read_ahead_pending_ > 0 || periodic_syncs_pending_ > 0 ||
         background_io_pending_ > 0;
}

void LogEngine::CommitAsync(std::function<void(absl::Status)> done) {
  DCHECK(OnEngineThread());
  if (ring_ == nullptr) {
    done(Commit());
    return;
  }
  CHECK(!commit_in_flight_) << "CommitAsync() while another is in flight";
  auto commit = std::make_shared<AsyncCommit>();
  commit->batch = CollectCommitBatch();
  commit->done = std::move(done);
  const size_t count = commit->batch.namespaces.size();
  if (count == 0) {
    commit->done(FinishCommit(commit->batch, absl::OkStatus()));
    return;
  }
  commit_in_flight_ = true;
  // Counts itself as pending until every write is submitted, so a write completing at once
  // (a file without a descriptor) cannot finish the commit early.
  commit->pending = count + 1;
  const bool sync = options_.fsync == FsyncPolicy::kAlways;
  for (size_t i = 0; i < count; ++i) {
    SegmentWriter* writer = namespaces_[commit->batch.namespaces[i]].active.get();
    absl::StatusOr<SegmentWriter::PendingWrite> write = writer->BeginFlush();
    if (!write.ok()) {
      if (commit->failure.ok()) commit->failure = write.status();
      --commit->pending;
      continue;
    }
    const int fd = write->file->fd();
    if (fd >= 0 && inline_appends_) {
      // pwrite here (AttachRing says why); a fdatasync still goes through the ring.
      absl::Status s = write->file->Write(write->offset, write->data);
      if (s.ok() && sync) {
        ring_->DataSync(fd, [this, commit, i](int sync_result) {
          OnCommitWriteDone(commit, i, 0, sync_result);
        });
        continue;
      }
      // Keep the write's own error (ENOSPC, EDQUOT, ...) for the client, not a bare EIO.
      if (!s.ok() && commit->failure.ok()) commit->failure = s;
      OnCommitWriteDone(commit, i, s.ok() ? 0 : -EIO, -ECANCELED);
      continue;
    }
    if (fd < 0) {  // no descriptor (fault-injection Env): blocking calls
      absl::Status s = write->file->Write(write->offset, write->data);
      if (!s.ok() && commit->failure.ok()) commit->failure = s;
      absl::Status synced = s.ok() && sync ? write->file->DataSync() : absl::CancelledError();
      const int write_result = s.ok() ? 0 : -EIO;
      const int sync_result = !s.ok() || !sync ? -ECANCELED : (synced.ok() ? 0 : -EIO);
      OnCommitWriteDone(commit, i, write_result, sync_result);
      continue;
    }
    ring_->WriteAndSync(fd, write->offset, write->data, sync,
                        [this, commit, i](int write_result, int sync_result) {
                          OnCommitWriteDone(commit, i, write_result, sync_result);
                        });
  }
  OnCommitWriteDone(commit, count, 0, 0);  // the submission's own count
}

void LogEngine::OnCommitWriteDone(const std::shared_ptr<AsyncCommit>& commit, size_t i,
                                  int write_result, int sync_result) {
  if (i < commit->batch.namespaces.size()) {
    SegmentWriter* writer = namespaces_[commit->batch.namespaces[i]].active.get();
    const bool sync = options_.fsync == FsyncPolicy::kAlways;
    if (write_result < 0) {
      if (commit->failure.ok()) {
        commit->failure = absl::ErrnoToStatus(-write_result, "write " + writer->path());
      }
    } else if (sync && sync_result < 0) {
      absl::Status s = absl::ErrnoToStatus(-sync_result, "fdatasync " + writer->path());
      writer->Fail(s);  // as in Commit(): no write after a failed fdatasync
      if (commit->failure.ok()) commit->failure = s;
    } else {
      writer->EndFlush(sync);
    }
  }
  if (--commit->pending > 0) return;
  commit_in_flight_ = false;
  absl::Status status = FinishCommit(commit->batch, commit->failure);
  commit->done(std::move(status));
}

void LogEngine::ReadAhead(const std::vector<ReadAheadKey>& keys, std::function<void()> done) {
  DCHECK(OnEngineThread());
  memo_.clear();
  memo_cursor_ = 0;
  if (ring_ == nullptr) {
    done();
    return;
  }
  memo_.resize(keys.size());
  // Made with the first read submitted: a batch that reads nothing (writes, cached values)
  // allocates nothing here.
  struct Pending {
    std::function<void()> done;
    size_t remaining = 1;  // the submission's own count
  };
  std::shared_ptr<Pending> pending;
  const auto one_done = [this](const std::shared_ptr<Pending>& p) {
    --read_ahead_pending_;
    if (--p->remaining == 0) p->done();
  };
  const int64_t now_ms = NowMs();
  // The lookups run in a prefetch pipeline (RunPrefetchPipeline).
  KeyHashes* hashes = PrefetchHashes(keys.size());
  // The lookup proper, and the read of a record that is neither staged nor cached.
  const auto look_up = [&](size_t i) {
    const ReadAheadKey& k = keys[i];
    ReadAheadMemo& memo = memo_[i];
    memo.key_data = k.key.data();
    memo.key_size = k.key.size();
    memo.ns = k.ns;
    if (k.ns >= kNamespaceCount) return;
    Namespace& n = namespaces_[k.ns];
    memo.index_hash = hashes[i].index;
    if (k.value || k.write_only) {  // PrefetchStage hashed it for the cache too
      memo.cache_hash = hashes[i].cache;
      memo.cache_hashed = true;
    }
    // Write-only keys too: the write (Put) takes the entries from here, their lines just
    // fetched.
    const IndexEntry* found = n.index.Find(k.key, hashes[i].index);
    memo.looked_up = true;
    memo.entry = found;
    if (k.write_only) {
      memo.write_only = true;
      memo.cached = cache_.FindAny(CacheKeyView(k.ns, k.key), hashes[i].cache);
      return;
    }
    if (found == nullptr || !found->LiveAt(now_ms)) return;
    const IndexEntry entry = *found;
    if (!k.value && entry.meta_len == 0) return;  // nothing to read
    if (k.value && entry.meta_len == 0) {
      memo.cached = cache_.Find(CacheKeyView(k.ns, k.key), hashes[i].cache, entry.revision);
      if (memo.cached != nullptr) {
        // The apply will copy the value into the reply: a cold copy stalled on memory
        // (the largest self time of a shard serving GETs of 256-byte values).
        S3FifoCache::PrefetchValue(memo.cached);
        return;
      }
    }
    File* file = nullptr;
    if (n.active != nullptr && n.active->sequence() == entry.segment) {
      if (n.active->IsStaged(entry.record_offset)) return;  // in memory
      file = n.active->file();
    } else {
      file = ReadableSegment(k.ns, entry.segment);
    }
    if (file == nullptr || file->fd() < 0) return;  // the read will say why, blocking
    const auto slot = std::make_tuple(k.ns, entry.segment, entry.record_offset);
    auto [it, inserted] = read_ahead_.try_emplace(slot);
    if (!inserted) return;  // the same record twice in one batch
    it->second.resize(entry.record_size);
    if (pending == nullptr) {
      pending = std::make_shared<Pending>();
      pending->done = std::move(done);
      ++read_ahead_pending_;  // the submission's own count
    }
    ++pending->remaining;
    ++read_ahead_pending_;
    const uint32_t expected = entry.record_size;
    ring_->Read(file->fd(), entry.record_offset, it->second.data(), entry.record_size,
                [this, slot, expected, p = pending, one_done](int result) {
                  // Short or failed: drop it; the read itself retries and reports.
                  if (result != static_cast<int>(expected)) read_ahead_.erase(slot);
                  one_done(p);
                });
  };
  RunPrefetchPipeline(keys.data(), keys.size(), hashes, look_up);
  // Nothing above changed the index or the cache (Find only): the memo is valid as of now.
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    memo_index_versions_[ns] = namespaces_[ns].index.version();
    memo_index_seeds_[ns] = namespaces_[ns].index.hash_seed();
  }
  memo_cache_version_ = cache_.version();
  if (pending == nullptr) {
    done();
  } else {
    one_done(pending);
  }
}

LogEngine::KeyHashes* LogEngine::PrefetchHashes(size_t n) {
  if (prefetch_hashes_.size() < n) prefetch_hashes_.resize(n);
  return prefetch_hashes_.data();
}

void LogEngine::PrefetchStage(const ReadAheadKey& k, KeyHashes& h, int level) {
  if (k.ns >= kNamespaceCount) return;
  const KeyIndex& index = namespaces_[k.ns].index;
  switch (level) {
    case 0:
      h.index = index.Hash(k.key);
      index.PrefetchProbe(h.index);
      if (k.value || k.write_only) {
        h.cache = S3FifoCache::Hash(CacheKeyView(k.ns, k.key));
        cache_.PrefetchProbe(h.cache);
      }
      break;
    case 1:
      index.PrefetchSlot(h.index);
      if (k.value || k.write_only) cache_.PrefetchSlot(h.cache);
      break;
    case 2:
      index.PrefetchNode(h.index);
      if (k.value || k.write_only) cache_.PrefetchEntry(h.cache);
      break;
    default:
      index.PrefetchKeyBytes(h.index);
      break;
  }
}

void LogEngine::DropReadAhead() {
  CHECK_EQ(read_ahead_pending_, 0u) << "DropReadAhead() with reads in flight";
  read_ahead_.clear();
  memo_.clear();
  memo_cursor_ = 0;
  if (memo_.capacity() > kMaxRetainedPrefetchHashes) std::vector<ReadAheadMemo>().swap(memo_);
  // One batch of a million keys must not leave 16 MiB of hashes behind.
  if (prefetch_hashes_.size() > kMaxRetainedPrefetchHashes) {
    std::vector<KeyHashes>().swap(prefetch_hashes_);
  }
}

void LogEngine::PushUndo(Namespace& n, std::string_view key, std::optional<IndexEntry> previous) {
  UndoEntry undo;
  undo.key_offset = n.undo_keys.size();
  undo.key_size = key.size();
  undo.previous = previous;
  n.undo_keys.append(key);
  n.undo.push_back(std::move(undo));
}

void LogEngine::ClearUndo(Namespace& n) {
  n.undo.clear();
  n.undo_keys.clear();
  // One batch of huge keys must not leave its buffer behind.
  constexpr size_t kMaxRetainedUndoKeyBytes = 1 << 20;
  if (n.undo_keys.capacity() > kMaxRetainedUndoKeyBytes) std::string().swap(n.undo_keys);
}

void LogEngine::RollbackBatch(const std::vector<uint32_t>& batch,
                              const std::vector<uint64_t>& sizes_before) {
  for (size_t i = 0; i < batch.size(); ++i) {
    Namespace& n = namespaces_[batch[i]];
    for (auto it = n.undo.rbegin(); it != n.undo.rend(); ++it) {
      if (it->flushed != nullptr) {
        n.index = std::move(*it->flushed);
        continue;
      }
      const std::string_view key(n.undo_keys.data() + it->key_offset, it->key_size);
      if (it->previous.has_value()) {
        n.index.Upsert(key, *it->previous);
      } else {
        n.index.Erase(key);
      }
    }
    ClearUndo(n);
    // On failure the writer turns failed (and logs): the namespace refuses writes.
    n.active->Rollback(sizes_before[i]).IgnoreError();
  }
}

absl::Status LogEngine::SealActive(uint32_t ns) {
  Namespace& n = namespaces_[ns];
  if (n.active == nullptr || n.active->has_staged()) {
    return absl::InternalError("SealActive needs an active segment with nothing staged");
  }
  const bool async_sync = ring_ != nullptr && n.active->needs_sync() &&
                          n.active->status().ok() && n.active->file() != nullptr &&
                          n.active->file()->fd() >= 0;
  if (!async_sync) {
    if (absl::Status s = n.active->Sync(); !s.ok()) return s;  // a failed sync fails the writer
  }
  const uint64_t sequence = n.active->sequence();
  const uint64_t size = n.active->written_size();
  const uint64_t max_revision = n.active->max_revision();
  std::unique_ptr<File> file = n.active->ReleaseFile();
  n.active.reset();
  if (file == nullptr) return absl::OkStatus();  // never created: nothing to seal
  const int fd = file->fd();
  n.sealed[sequence] = SealedSegment{std::move(file), size};
  n.sealed[sequence].max_revision = max_revision;
  n.sealed[sequence].sealed_at_us = NowUs();
  n.sealed_since_check = true;
  hint_selection_empty_ = false;
  if (async_sync) {
    // The next segment is created first (its header fdatasynced, the directory fsynced, on
    // this thread): after the sealing fdatasync starts writing this segment's tens of MiB
    // back, a creation waits for that writeback in the filesystem's journal commit (ext4,
    // ordered data: 7-44 ms measured, stalling the shard; docs/benchmarks.md).
    const uint64_t next = NextLogSequence(sequence);
    n.active = std::make_unique<SegmentWriter>(
        env_, NamespaceDir(ns), SegmentHeader{kFormatVersion, options_.shard_id, ns, next});
    if (absl::Status s = n.active->Create(); !s.ok()) {
      LOG(WARNING) << "namespace " << ns << ": creating segment " << next
                   << " failed (retried at the next write): " << s;
      n.active.reset();
    }
    // The sealing fdatasync through the ring; the segment gets no hint file before it is done.
    n.sealed[sequence].sync_pending = true;
    ++background_io_pending_;
    ring_->DataSync(fd, [this, ns, sequence](int result) {
      --background_io_pending_;
      auto it = namespaces_[ns].sealed.find(sequence);
      if (result < 0) {
        LOG(ERROR) << "namespace " << ns << ", segment " << sequence
                   << ": fdatasync at sealing failed: " << std::strerror(-result)
                   << " (its records may not survive a power loss)";
      }
      if (it == namespaces_[ns].sealed.end()) return;  // reclaimed meanwhile
      it->second.sync_pending = false;
      if (result < 0) it->second.hint_failed = true;
      hint_selection_empty_ = false;
    });
    ring_->Submit();
  }
  VLOG(1) << "namespace " << ns << ": sealed segment " << sequence << " (" << size
          << " bytes)";
  return absl::OkStatus();
}

// ---- Statistics -----------------------------------------------------------------------------

EngineStats LogEngine::Stats() {
  DCHECK(OnEngineThread());
  EngineStats stats;
  stats.io_uring = ring_ != nullptr;
  stats.inline_appends = ring_ == nullptr || inline_appends_;
  stats.cache_budget_bytes = cache_.budget_bytes();
  stats.cache_bytes = cache_.bytes();
  stats.cache_hits = cache_.hits();
  stats.cache_misses = cache_.misses();
  stats.reclaim_runs = reclaim_runs_;
  stats.reclaim_inputs_unread = reclaim_inputs_unread_;
  stats.corrupt_records = stats_.corrupt_records + corrupt_records_;
  stats.expired_keys = expired_keys_;
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    const Namespace& n = namespaces_[ns];
    NamespaceStats s;
    s.ns = ns;
    s.keys = n.index.size();
    s.expires = n.index.expires();
    s.live_bytes = n.index.live_bytes();
    for (const auto& [sequence, segment] : n.sealed) s.log_bytes += segment.size;
    // A writer whose file is not created yet counts its header only once it has records.
    if (n.active != nullptr &&
        (n.active->has_staged() || n.active->written_size() > kSegmentHeaderSize)) {
      s.log_bytes += n.active->written_size() + n.active->staged_size();
    }
    if (reclaim_.has_value() && reclaim_->ns == ns) s.log_bytes += reclaim_->output_size;
    s.sealed_segments = n.sealed.size();
    stats.index_bytes += n.index.EstimatedMemoryBytes();
    if (s.keys > 0 || s.log_bytes > 0) stats.namespaces.push_back(s);
  }
  return stats;
}

// ---- Syncing --------------------------------------------------------------------------------

absl::Status LogEngine::SyncAll() {
  absl::Status first_error;
  for (Namespace& n : namespaces_) {
    if (n.active == nullptr) continue;
    absl::Status s = n.active->Sync();
    if (first_error.ok() && !s.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace beyondkv::engine
