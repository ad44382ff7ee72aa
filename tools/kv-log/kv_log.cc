#include "tools/kv-log/kv_log.h"

#include <algorithm>
#include <functional>
#include <set>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/hint_file.h"
#include "engine/manifest.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"
#include "engine/revision_clock.h"
#include "engine/segment_file.h"
#include "engine/segment_reader.h"

namespace beyondkv::kvlog {
namespace {

using engine::DecodeStatus;
using engine::Env;
using engine::File;
using engine::RecordType;
using engine::ScannedRecord;
using engine::SegmentReader;

constexpr uint32_t kNamespaceCount = 16;

// The files of one namespace directory.
struct NamespaceFiles {
  uint32_t ns = 0;
  std::string dir;
  std::vector<uint64_t> segments;  // ascending
  std::set<uint64_t> hints;
  std::vector<std::string> others;  // temporary and unknown files
};

// The engine's rule (FORMAT.md "Files"): the last segment is active if it is a log sequence
// without a hint file.
bool IsActive(const NamespaceFiles& files, size_t i) {
  const uint64_t sequence = files.segments[i];
  return i + 1 == files.segments.size() && engine::IsLogSequence(sequence) &&
         files.hints.count(sequence) == 0;
}

std::string SegmentPath(const NamespaceFiles& files, uint64_t sequence) {
  return absl::StrCat(files.dir, "/", engine::SegmentFileName(sequence));
}

std::string HintPath(const NamespaceFiles& files, uint64_t sequence) {
  return absl::StrCat(files.dir, "/", engine::HintFileName(sequence));
}

// "ns-0/00000000000000000001.log": how files are named in reports.
std::string Short(const NamespaceFiles& files, const std::string& name) {
  return absl::StrCat(engine::NamespaceDirName(files.ns), "/", name);
}

absl::StatusOr<std::vector<NamespaceFiles>> Inventory(Env* env, const std::string& shard_dir) {
  absl::StatusOr<bool> exists = env->Exists(shard_dir);
  if (!exists.ok()) return exists.status();
  if (!*exists) return absl::NotFoundError(absl::StrCat(shard_dir, " does not exist"));
  std::vector<NamespaceFiles> out;
  for (uint32_t ns = 0; ns < kNamespaceCount; ++ns) {
    NamespaceFiles files;
    files.ns = ns;
    files.dir = absl::StrCat(shard_dir, "/", engine::NamespaceDirName(ns));
    absl::StatusOr<bool> present = env->Exists(files.dir);
    if (!present.ok()) return present.status();
    if (!*present) continue;
    absl::StatusOr<std::vector<std::string>> names = env->ListDir(files.dir);
    if (!names.ok()) return names.status();
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      if (std::optional<uint64_t> seq = engine::ParseSegmentFileName(name)) {
        files.segments.push_back(*seq);
      } else if (std::optional<uint64_t> hint = engine::ParseHintFileName(name)) {
        files.hints.insert(*hint);
      } else {
        files.others.push_back(name);
      }
    }
    std::sort(files.segments.begin(), files.segments.end());
    out.push_back(std::move(files));
  }
  return out;
}

struct SegmentInfo {
  uint64_t size = 0;
  std::string header_problem;  // empty if the header is sound
  uint64_t records = 0;
  uint64_t by_type[5] = {0, 0, 0, 0, 0};  // indexed by RecordType
  std::vector<engine::SegmentDamage> damage;
  // End of the last intact record: in the active segment, damage from here on is its torn
  // tail (segment_reader.h), which Open truncates.
  uint64_t intact_end = 0;
};

// Checks the header of segment `sequence` and scans its records, calling `on_record` for
// each valid one. Errors are I/O failures only.
absl::StatusOr<SegmentInfo> ScanSegment(
    Env* env, const NamespaceFiles& files, uint64_t sequence, std::optional<uint32_t> shard_id,
    const std::function<void(File*, const ScannedRecord&)>& on_record) {
  absl::StatusOr<std::unique_ptr<File>> file =
      env->OpenFile(SegmentPath(files, sequence), Env::OpenMode::kExisting);
  if (!file.ok()) return file.status();
  SegmentInfo info;
  absl::StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok()) return size.status();
  info.size = *size;
  std::string header_bytes(engine::kSegmentHeaderSize, '\0');
  absl::StatusOr<size_t> got = (*file)->Read(0, header_bytes.size(), header_bytes.data());
  if (!got.ok()) return got.status();
  header_bytes.resize(*got);
  engine::SegmentHeader header;
  switch (engine::DecodeSegmentHeader(header_bytes, &header)) {
    case DecodeStatus::kIncomplete:
      info.header_problem = absl::StrCat("header torn (", *got, " bytes)");
      return info;
    case DecodeStatus::kCorrupt:
      info.header_problem = "header damaged (magic, checksum or padding)";
      return info;
    case DecodeStatus::kOk:
      break;
  }
  if (header.format_version != engine::kFormatVersion) {
    info.header_problem = absl::StrCat("format version ", header.format_version);
    return info;
  }
  if (header.ns != files.ns || header.sequence != sequence ||
      (shard_id.has_value() && header.shard_id != *shard_id)) {
    info.header_problem = absl::StrCat("header names shard ", header.shard_id, " namespace ",
                                       header.ns, " sequence ", header.sequence);
    return info;
  }
  SegmentReader reader(file->get(), engine::kSegmentHeaderSize, info.size);
  ScannedRecord record;
  for (;;) {
    absl::StatusOr<SegmentReader::Result> result = reader.Next(&record);
    if (!result.ok()) return result.status();
    if (*result == SegmentReader::Result::kEnd) break;
    if (*result == SegmentReader::Result::kRecord) {
      ++info.records;
      ++info.by_type[static_cast<int>(record.type)];
      if (on_record) on_record(file->get(), record);
      continue;
    }
    info.damage.push_back(reader.damage());
  }
  info.intact_end = reader.intact_end();
  return info;
}

const char* TypeName(RecordType type) {
  switch (type) {
    case RecordType::kPut:
      return "put";
    case RecordType::kTombstone:
      return "tombstone";
    case RecordType::kExpire:
      return "expire";
    case RecordType::kFlush:
      return "flush";
  }
  return "?";
}

std::string Escaped(std::string_view bytes) {
  return absl::CHexEscape(absl::string_view(bytes.data(), bytes.size()));
}

// The shard id of the MANIFEST, if readable; problems are reported to `out`.
std::optional<uint32_t> CheckManifest(Env* env, const std::string& shard_dir, std::ostream& out,
                                      int* problems) {
  absl::StatusOr<std::optional<engine::Manifest>> manifest = engine::ReadManifest(env, shard_dir);
  if (!manifest.ok()) {
    out << "ERROR MANIFEST: " << manifest.status().message() << "\n";
    ++*problems;
    return std::nullopt;
  }
  if (!manifest->has_value()) {
    out << "ERROR MANIFEST: missing\n";
    ++*problems;
    return std::nullopt;
  }
  const engine::Manifest& m = **manifest;
  out << "MANIFEST: format_version " << m.format_version << ", shard " << m.shard_id << " of "
      << m.shard_count << "\n";
  if (m.format_version != engine::kFormatVersion) {
    out << "ERROR MANIFEST: format version " << m.format_version << " is not "
        << engine::kFormatVersion << "\n";
    ++*problems;
  }
  return m.shard_id;
}

}  // namespace

int List(Env* env, const std::string& shard_dir, std::ostream& out) {
  absl::StatusOr<std::vector<NamespaceFiles>> inventory = Inventory(env, shard_dir);
  if (!inventory.ok()) {
    out << "kv-log: " << inventory.status().message() << "\n";
    return 2;
  }
  int problems = 0;
  const std::optional<uint32_t> shard_id = CheckManifest(env, shard_dir, out, &problems);
  if (inventory->empty()) out << "no namespace holds data\n";
  for (const NamespaceFiles& files : *inventory) {
    out << "\n" << engine::NamespaceDirName(files.ns) << "\n";
    out << absl::StrFormat("  %-24s %-8s %12s %9s %9s %9s %7s %6s %5s %s\n", "segment", "state",
                           "bytes", "records", "puts", "tombst.", "expires", "flush", "hint",
                           "damage");
    uint64_t total_bytes = 0;
    uint64_t total_records = 0;
    for (size_t i = 0; i < files.segments.size(); ++i) {
      const uint64_t sequence = files.segments[i];
      absl::StatusOr<SegmentInfo> info = ScanSegment(env, files, sequence, shard_id, nullptr);
      if (!info.ok()) {
        out << "  " << engine::SegmentFileName(sequence) << ": " << info.status().message() << "\n";
        return 2;
      }
      const bool active = IsActive(files, i);
      const char* state = active                            ? "active"
                          : engine::IsLogSequence(sequence) ? "sealed"
                                                            : "reclaim";  // a reclaim output
      std::string damage = info->header_problem;
      if (damage.empty() && !info->damage.empty()) {
        damage = absl::StrCat(info->damage.size(), " bad record(s)");
      }
      std::string line = absl::StrFormat(
          "  %-24s %-8s %12u %9u %9u %9u %7u %6u %5s %s", engine::SegmentFileName(sequence), state,
          info->size, info->records, info->by_type[1], info->by_type[2], info->by_type[3],
          info->by_type[4], files.hints.count(sequence) ? "yes" : "-", damage);
      line.erase(line.find_last_not_of(' ') + 1);
      out << line << "\n";
      total_bytes += info->size;
      total_records += info->records;
    }
    out << absl::StrFormat("  %-24s %-8s %12u %9u\n", "total", "", total_bytes, total_records);
    for (const std::string& name : files.others) out << "  other file: " << name << "\n";
  }
  return 0;
}

int Verify(Env* env, const std::string& shard_dir, std::ostream& out) {
  absl::StatusOr<std::vector<NamespaceFiles>> inventory = Inventory(env, shard_dir);
  if (!inventory.ok()) {
    out << "kv-log: " << inventory.status().message() << "\n";
    return 2;
  }
  int problems = 0;
  int warnings = 0;
  uint64_t records = 0;
  const std::optional<uint32_t> shard_id = CheckManifest(env, shard_dir, out, &problems);
  for (const NamespaceFiles& files : *inventory) {
    for (size_t i = 0; i < files.segments.size(); ++i) {
      const uint64_t sequence = files.segments[i];
      const std::string name = Short(files, engine::SegmentFileName(sequence));
      std::vector<ScannedRecord> scanned;
      const bool has_hint = files.hints.count(sequence) > 0;
      absl::StatusOr<SegmentInfo> info =
          ScanSegment(env, files, sequence, shard_id, [&](File*, const ScannedRecord& record) {
            if (has_hint) scanned.push_back(record);
          });
      if (!info.ok()) {
        out << "ERROR " << name << ": " << info.status().message() << "\n";
        ++problems;
        continue;
      }
      records += info->records;
      const bool active = IsActive(files, i);
      if (!info->header_problem.empty()) {
        // A torn header of the active segment is a crash during its creation; Open removes it.
        if (active && info->size < engine::kSegmentHeaderSize) {
          out << "WARNING " << name << ": " << info->header_problem
              << " (a crash while creating it; Open removes it)\n";
          ++warnings;
        } else {
          out << "ERROR " << name << ": " << info->header_problem << "\n";
          ++problems;
        }
        continue;
      }
      for (const engine::SegmentDamage& d : info->damage) {
        if (active && d.offset >= info->intact_end) {
          out << "WARNING " << name << ": torn tail, " << engine::DescribeDamage(d)
              << " (a crash during a write; Open truncates it)\n";
          ++warnings;
        } else {
          out << "ERROR " << name << ": " << engine::DescribeDamage(d) << "\n";
          ++problems;
        }
      }
      if (!has_hint) continue;
      const std::string hint_name = Short(files, engine::HintFileName(sequence));
      absl::StatusOr<std::string> bytes = engine::ReadFileToString(env, HintPath(files, sequence));
      if (!bytes.ok()) {
        out << "ERROR " << hint_name << ": " << bytes.status().message() << "\n";
        ++problems;
        continue;
      }
      engine::HintHeader header;
      absl::StatusOr<std::vector<ScannedRecord>> hinted = engine::DecodeHintFile(*bytes, &header);
      std::string why;
      if (!hinted.ok()) {
        why = std::string(hinted.status().message());
      } else if (header.ns != files.ns || header.sequence != sequence ||
                 (shard_id.has_value() && header.shard_id != *shard_id)) {
        why = "names another segment";
      } else if (header.segment_size != info->size) {
        why = absl::StrCat("describes ", header.segment_size, " bytes of segment, which has ",
                           info->size);
      } else if (header.corrupt_records != info->damage.size()) {
        why = absl::StrCat("counts ", header.corrupt_records, " damaged records; the segment has ",
                           info->damage.size());
      } else {
        // The entries are records of the segment, in order, and include every record that
        // decides the index (superseded ones may be left out: engine/hint_file.h).
        const std::vector<bool> deciding = engine::DecidingRecords(scanned);
        size_t h = 0;
        for (size_t r = 0; r < scanned.size() && why.empty(); ++r) {
          const ScannedRecord& a = scanned[r];
          if (h < hinted->size() && (*hinted)[h].offset == a.offset) {
            const ScannedRecord& b = (*hinted)[h];
            if (a.type != b.type || a.revision != b.revision ||
                a.expire_at_ms != b.expire_at_ms || a.key != b.key ||
                a.meta_len != b.meta_len || a.value_len != b.value_len) {
              why = absl::StrCat("entry ", h, " differs from the record at offset ", a.offset);
            }
            ++h;
          } else if (deciding[r]) {
            why = absl::StrCat("leaves out the record at offset ", a.offset,
                               ", which decides its key");
          }
        }
        if (why.empty() && h < hinted->size()) {
          why = absl::StrCat("entry ", h, " (offset ", (*hinted)[h].offset,
                             ") is no record of the segment");
        }
      }
      if (!why.empty()) {
        // Open would notice and scan the segment instead, but a hint must never be wrong.
        out << "ERROR " << hint_name << ": " << why << "\n";
        ++problems;
      }
    }
    for (const std::string& name : files.others) {
      out << "WARNING " << Short(files, name) << ": "
          << (name.size() > 4 && name.substr(name.size() - 4) == engine::kTempSuffix
                  ? "left over by an interrupted write; Open removes it"
                  : "not a file of the engine")
          << "\n";
      ++warnings;
    }
    for (uint64_t hint : files.hints) {
      if (!std::binary_search(files.segments.begin(), files.segments.end(), hint)) {
        out << "WARNING " << Short(files, engine::HintFileName(hint))
            << ": its segment is gone; Open removes it\n";
        ++warnings;
      }
    }
  }
  out << absl::StrFormat("%u records checked: %d problem(s), %d warning(s)\n", records, problems,
                         warnings);
  return problems == 0 ? 0 : 1;
}

int Dump(Env* env, const std::string& shard_dir, const DumpOptions& options, std::ostream& out) {
  absl::StatusOr<std::vector<NamespaceFiles>> inventory = Inventory(env, shard_dir);
  if (!inventory.ok()) {
    out << "kv-log: " << inventory.status().message() << "\n";
    return 2;
  }
  for (const NamespaceFiles& files : *inventory) {
    if (options.ns.has_value() && *options.ns != files.ns) continue;
    for (uint64_t sequence : files.segments) {
      const std::string name = Short(files, engine::SegmentFileName(sequence));
      absl::StatusOr<SegmentInfo> info =
          ScanSegment(env, files, sequence, std::nullopt, [&](File* file, const ScannedRecord& r) {
            if (options.key.has_value() && r.type != RecordType::kFlush && r.key != *options.key) {
              return;
            }
            const uint64_t tick = r.revision >> engine::kRevisionShardBits;
            const uint64_t shard = r.revision & (engine::kMaxShards - 1);
            out << name << " @" << r.offset << " " << TypeName(r.type) << " rev=" << r.revision
                << " (tick=" << tick << " ms after " << engine::kRevisionEpochMs
                << " shard=" << shard << ")";
            if (r.type != RecordType::kFlush) out << " key=\"" << Escaped(r.key) << "\"";
            if (r.type == RecordType::kPut || r.type == RecordType::kExpire) {
              out << " expire_at_ms=" << r.expire_at_ms;
            }
            if (r.type == RecordType::kPut) {
              out << " meta=" << r.meta_len << "B value=" << r.value_len << "B";
              const size_t n = std::min<size_t>(r.value_len, options.preview_bytes);
              std::string preview(n, '\0');
              absl::StatusOr<size_t> got = file->Read(r.value_offset, n, preview.data());
              if (got.ok()) {
                preview.resize(*got);
                out << " \"" << Escaped(preview) << (n < r.value_len ? "\"..." : "\"");
              }
            }
            out << "\n";
          });
      if (!info.ok()) {
        out << name << ": " << info.status().message() << "\n";
        return 2;
      }
      if (!info->header_problem.empty()) out << name << ": " << info->header_problem << "\n";
      for (const engine::SegmentDamage& d : info->damage) {
        out << name << ": " << engine::DescribeDamage(d) << "\n";
      }
    }
  }
  return 0;
}

}  // namespace beyondkv::kvlog
