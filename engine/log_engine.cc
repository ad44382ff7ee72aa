#include "engine/log_engine.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/manifest.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"

namespace beyondkv::engine {
namespace {

constexpr int64_t kPeriodicSyncIntervalUs = 1'000'000;

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
    : options_(options), dir_(std::move(dir)), env_(env), clock_(options.shard_id) {
  last_periodic_sync_us_ = NowUs();
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
  for (const std::string& name : *names) {
    if (std::optional<uint64_t> seq = ParseSegmentFileName(name)) {
      sequences.push_back(*seq);
    } else {
      LOG(WARNING) << ns_dir << "/" << name << ": not a segment file, ignored";
    }
  }
  std::sort(sequences.begin(), sequences.end());
  for (size_t i = 0; i < sequences.size(); ++i) {
    const bool active = i + 1 == sequences.size();
    if (absl::Status s = RecoverSegment(ns, sequences[i], active); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LogEngine::RecoverSegment(uint32_t ns, uint64_t sequence, bool active) {
  Namespace& n = namespaces_[ns];
  const std::string ns_dir = NamespaceDir(ns);
  const std::string path = absl::StrCat(ns_dir, "/", SegmentFileName(sequence));
  absl::StatusOr<std::unique_ptr<File>> opened = env_->OpenFile(path, Env::OpenMode::kExisting);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<File> file = *std::move(opened);
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  ++stats_.segments;
  stats_.bytes_scanned += *size;

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

  SegmentReader reader(file.get(), kSegmentHeaderSize, *size);
  uint64_t valid_end = *size;
  ScannedRecord record;
  for (;;) {
    absl::StatusOr<SegmentReader::Result> result = reader.Next(&record);
    if (!result.ok()) return result.status();
    if (*result == SegmentReader::Result::kEnd) break;
    if (*result == SegmentReader::Result::kRecord) {
      if (absl::Status s = ApplyRecovered(ns, sequence, path, record); !s.ok()) return s;
      continue;
    }
    const char* what = *result == SegmentReader::Result::kIncomplete ? "incomplete" : "corrupt";
    const uint64_t bad = reader.offset();
    if (active) {
      // The end of the log: whatever a crash left half-written. Cut it off so new records
      // follow the last good one.
      LOG(WARNING) << path << ": " << what << " record at offset " << bad << "; truncating "
                   << (*size - bad) << " bytes of torn tail";
      if (absl::Status s = file->Truncate(bad); !s.ok()) return s;
      if (absl::Status s = file->DataSync(); !s.ok()) return s;
      stats_.torn_bytes_truncated += *size - bad;
      valid_end = bad;
      break;
    }
    // A sealed segment was complete when sealed, so this is damage: report it loudly and
    // never serve it.
    ++stats_.corrupt_records;
    if (reader.resync_offset() != 0) {
      LOG(ERROR) << path << ": " << what << " record at offset " << bad << " ("
                 << (reader.resync_offset() - bad) << " bytes) skipped; its key is lost";
      reader.Seek(reader.resync_offset());
      continue;
    }
    LOG(ERROR) << path << ": " << what << " record at offset " << bad
               << " with unusable lengths; skipping the remaining " << (*size - bad)
               << " bytes of the segment";
    break;
  }

  if (active) {
    n.active = std::make_unique<SegmentWriter>(env_, ns_dir, expected, std::move(file),
                                               valid_end);
  } else {
    n.sealed[sequence] = std::move(file);
  }
  return absl::OkStatus();
}

absl::Status LogEngine::ApplyRecovered(uint32_t ns, uint64_t sequence, const std::string& path,
                                       const ScannedRecord& record) {
  Namespace& n = namespaces_[ns];
  ++stats_.records;
  clock_.Observe(record.revision);
  switch (record.type) {
    case RecordType::kPut: {
      const IndexEntry entry{sequence,         record.offset,   record.size,
                             record.value_len, record.value_offset, record.revision,
                             record.expire_at_ms};
      // A put that has expired by now supersedes older values all the same.
      if (entry.LiveAt(NowUs() / 1000)) {
        n.index.Upsert(record.key, entry);
      } else {
        n.index.Erase(record.key);
      }
      return absl::OkStatus();
    }
    case RecordType::kTombstone:
      n.index.Erase(record.key);
      return absl::OkStatus();
    case RecordType::kExpire:
    case RecordType::kFlush:
      break;
  }
  // Ignoring them would serve values that should have expired or been flushed.
  return absl::FailedPreconditionError(absl::StrCat(
      path, ": record type ", static_cast<int>(record.type), " at offset ", record.offset,
      " is reserved and not supported by this build"));
}

// ---- Reads ----------------------------------------------------------------------------------

int64_t LogEngine::NowUs() const {
  return options_.now_us != nullptr ? options_.now_us() : absl::ToUnixMicros(absl::Now());
}

bool LogEngine::OnEngineThread() const {
  if (owner_ == std::thread::id()) owner_ = std::this_thread::get_id();
  return owner_ == std::this_thread::get_id();
}

const IndexEntry* LogEngine::FindLive(Namespace& n, std::string_view key) {
  const IndexEntry* entry = n.index.Find(key);
  if (entry == nullptr) return nullptr;
  if (entry->LiveAt(NowUs() / 1000)) return entry;
  // Expiry is absolute and the record on disk says so too, so dropping the entry needs no
  // tombstone: recovery drops it again. Undo entries of a failed batch restore it if needed.
  n.index.Erase(key);
  return nullptr;
}

absl::StatusOr<std::string> LogEngine::ReadValue(uint32_t ns, std::string_view key,
                                                 const IndexEntry& entry) {
  Namespace& n = namespaces_[ns];
  const bool in_active = n.active != nullptr && n.active->sequence() == entry.segment;
  if (in_active && n.active->IsStaged(entry.record_offset)) {
    return std::string(n.active->ReadStaged(entry.value_offset, entry.value_len));
  }

  std::string buf(entry.record_size, '\0');
  absl::StatusOr<size_t> got;
  std::string path;
  if (in_active) {
    got = n.active->ReadFile(entry.record_offset, buf.size(), buf.data());
    path = n.active->path();
  } else {
    auto it = n.sealed.find(entry.segment);
    if (it == n.sealed.end()) {
      return absl::InternalError(absl::StrCat("namespace ", ns, ": index names segment ",
                                              entry.segment, ", which is not open"));
    }
    got = it->second->Read(entry.record_offset, buf.size(), buf.data());
    path = it->second->path();
  }
  if (!got.ok()) return got.status();

  RecordView record;
  size_t consumed = 0;
  if (*got != buf.size() ||
      DecodeRecord(std::string_view(buf.data(), *got), kMaxValueBytesLimit, &record,
                   &consumed) != DecodeStatus::kOk ||
      consumed != buf.size() || record.type != RecordType::kPut || record.key != key ||
      record.revision != entry.revision) {
    LOG(ERROR) << path << ": record at offset " << entry.record_offset
               << " fails its checksum or does not match the index";
    return absl::DataLossError(absl::StrCat(path, ": damaged record at offset ",
                                            entry.record_offset));
  }
  // Keep the value in place of the whole record rather than copying it out.
  buf.erase(0, entry.value_offset - entry.record_offset);
  buf.resize(entry.value_len);
  return buf;
}

absl::StatusOr<Entry> LogEngine::Get(uint32_t ns, std::string_view key) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  const IndexEntry* found = FindLive(namespaces_[ns], key);
  if (found == nullptr) return absl::NotFoundError("no such key");
  const IndexEntry entry = *found;
  absl::StatusOr<std::string> value = ReadValue(ns, key, entry);
  if (!value.ok()) return value.status();
  return Entry{*std::move(value), entry.revision, entry.expire_at_ms};
}

absl::StatusOr<bool> LogEngine::Exists(uint32_t ns, std::string_view key) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  return FindLive(namespaces_[ns], key) != nullptr;
}

absl::StatusOr<uint64_t> LogEngine::KeyCount(uint32_t ns) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  return namespaces_[ns].index.size();
}

// ---- Writes ---------------------------------------------------------------------------------

absl::StatusOr<SegmentWriter*> LogEngine::WritableSegment(uint32_t ns) {
  Namespace& n = namespaces_[ns];
  if (n.active == nullptr) {
    // A namespace never written: its first segment. Later segments will follow the highest
    // sealed sequence.
    const uint64_t sequence = n.sealed.empty() ? 1 : n.sealed.rbegin()->first + 1;
    n.active = std::make_unique<SegmentWriter>(
        env_, NamespaceDir(ns), SegmentHeader{kFormatVersion, options_.shard_id, ns, sequence});
  }
  if (!n.active->status().ok()) return n.active->status();
  return n.active.get();
}

absl::StatusOr<PutResult> LogEngine::Put(uint32_t ns, std::string_view key,
                                         std::string_view value, const PutOptions& options,
                                         std::string* old_value) {
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
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();
  Namespace& n = namespaces_[ns];

  PutResult result;
  int64_t current_expire_at_ms = 0;
  if (const IndexEntry* current = FindLive(n, key)) {
    result.had_old = true;
    current_expire_at_ms = current->expire_at_ms;
    if (old_value != nullptr) {
      absl::StatusOr<std::string> old = ReadValue(ns, key, *current);
      if (!old.ok()) return old.status();
      *old_value = *std::move(old);
    }
  } else if (old_value != nullptr) {
    old_value->clear();
  }
  using Condition = PutOptions::Condition;
  if ((options.condition == Condition::kIfAbsent && result.had_old) ||
      (options.condition == Condition::kIfPresent && !result.had_old)) {
    return result;
  }

  RecordView record;
  record.type = RecordType::kPut;
  record.revision = clock_.Next(NowUs());
  record.expire_at_ms = options.keep_ttl ? current_expire_at_ms : options.expire_at_ms;
  record.key = key;
  record.value = value;
  const uint64_t offset = (*writer)->Stage(record);
  const IndexEntry entry{(*writer)->sequence(),
                         offset,
                         static_cast<uint32_t>(EncodedRecordSize(key.size(), 0, value.size())),
                         static_cast<uint32_t>(value.size()),
                         offset + kRecordHeaderSize + key.size(),
                         record.revision,
                         record.expire_at_ms};
  n.undo.push_back(UndoEntry{std::string(key), n.index.Upsert(key, entry)});
  result.written = true;
  result.revision = record.revision;
  return result;
}

absl::StatusOr<bool> LogEngine::Delete(uint32_t ns, std::string_view key) {
  DCHECK(OnEngineThread());
  if (absl::Status s = CheckNamespace(ns); !s.ok()) return s;
  Namespace& n = namespaces_[ns];
  if (FindLive(n, key) == nullptr) return false;
  absl::StatusOr<SegmentWriter*> writer = WritableSegment(ns);
  if (!writer.ok()) return writer.status();
  RecordView record;
  record.type = RecordType::kTombstone;
  record.revision = clock_.Next(NowUs());
  record.key = key;
  (*writer)->Stage(record);
  n.undo.push_back(UndoEntry{std::string(key), n.index.Erase(key)});
  return true;
}

absl::Status LogEngine::Commit() {
  DCHECK(OnEngineThread());
  std::vector<uint32_t> batch;
  std::vector<uint64_t> sizes_before;
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    const Namespace& n = namespaces_[ns];
    if (n.active != nullptr && n.active->has_staged()) {
      batch.push_back(ns);
      sizes_before.push_back(n.active->written_size());
    }
  }

  absl::Status failure;
  for (size_t i = 0; i < batch.size() && failure.ok(); ++i) {
    failure = namespaces_[batch[i]].active->Flush();
  }
  if (failure.ok() && options_.fsync == FsyncPolicy::kAlways) {
    for (size_t i = 0; i < batch.size() && failure.ok(); ++i) {
      failure = namespaces_[batch[i]].active->Sync();  // a failed sync fails the writer
    }
  }
  if (!failure.ok()) {
    RollbackBatch(batch, sizes_before);
    return absl::Status(failure.code(),
                        absl::StrCat("commit failed, batch rolled back: ", failure.message()));
  }
  for (uint32_t ns : batch) namespaces_[ns].undo.clear();
  return absl::OkStatus();
}

void LogEngine::RollbackBatch(const std::vector<uint32_t>& batch,
                              const std::vector<uint64_t>& sizes_before) {
  for (size_t i = 0; i < batch.size(); ++i) {
    Namespace& n = namespaces_[batch[i]];
    for (auto it = n.undo.rbegin(); it != n.undo.rend(); ++it) {
      if (it->previous.has_value()) {
        n.index.Upsert(it->key, *it->previous);
      } else {
        n.index.Erase(it->key);
      }
    }
    n.undo.clear();
    // On failure the writer turns failed (and logs): the namespace refuses writes.
    n.active->Rollback(sizes_before[i]).IgnoreError();
  }
}

// ---- Syncing --------------------------------------------------------------------------------

absl::Status LogEngine::MaybeSyncPeriodic() {
  DCHECK(OnEngineThread());
  if (options_.fsync != FsyncPolicy::kEverySec) return absl::OkStatus();
  const int64_t now = NowUs();
  if (now - last_periodic_sync_us_ < kPeriodicSyncIntervalUs) return absl::OkStatus();
  last_periodic_sync_us_ = now;
  return SyncAll();
}

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
