// libFuzzer target: the record decoder (engine/record_codec.h) and recovery of a damaged
// segment by LogEngine::Open (engine/log_engine.h, engine/segment_reader.h).
//
// Input: byte 0 = mode, byte 1 = where, the rest = fuzz bytes F.
//  1. F is decoded as a record (DecodeRecordHeader, DecodeRecord); a record that decodes
//     must re-encode (AppendRecord) to the same bytes.
//  2. A segment of valid records (distinct keys, one with metadata) is damaged with F:
//     mode & 3 == 0: F appended after the last record; 1: the file cut at `where` and F
//     appended there; 2: F written over the file from `where` on (the file grows if F runs
//     past its end); 3: the file cut at `where` without F (a torn tail). `where` is never
//     inside the 40-byte segment header. With mode & 4, the damaged segment is sealed (a
//     valid active segment follows it), else it is the active one.
//     LogEngine::Open on that directory must succeed and serve every original record that
//     lies wholly before the first damaged byte, with its value, metadata and revision,
//     unless a record decodable somewhere in the damaged file (made by the fuzz bytes)
//     could legitimately change that key: a put, tombstone or expire of the same key, or a
//     flush. Then a write, a commit and a reopen must serve the new key and the old ones
//     again.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/env.h"
#include "engine/log_engine.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"
#include "glog/logging.h"

namespace {

using namespace beyondkv::engine;

constexpr int64_t kNowUs = 1'700'000'000'000'000;
int64_t FakeNow() { return kNowUs; }

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "record_recovery_fuzzer: invariant failed: %s\n", what);
    abort();
  }
}

struct Original {
  std::string key, metadata, value;
  uint64_t revision;
  size_t offset, size;  // in the segment file
};

struct Fixture {
  std::string dir;
  Options options;
  std::vector<Original> records;
  std::string segment;  // header + records
};

std::string Encode(RecordType type, std::string_view key, std::string_view meta,
                   std::string_view value, uint64_t revision) {
  RecordView r;
  r.type = type;
  r.key = key;
  r.metadata = meta;
  r.value = value;
  r.revision = revision;
  std::string out;
  AppendRecord(r, &out);
  return out;
}

Fixture& Setup() {
  static Fixture* f = [] {
    FLAGS_minloglevel = 3;  // recovery warns about every damaged file; keep the output clean
    auto* f = new Fixture;
    char tmpl[] = "/tmp/bkv-fuzz-recovery-XXXXXX";
    Check(mkdtemp(tmpl) != nullptr, "mkdtemp");
    f->dir = tmpl;
    f->options.fsync = FsyncPolicy::kNever;
    f->options.now_us = FakeNow;
    f->options.memory_bytes = 0;  // no value cache: every Get reads the file
    {
      // Creates the MANIFEST.
      auto e = LogEngine::Open(f->options, f->dir, Env::Default());
      Check(e.ok(), "initial Open");
    }
    f->segment = EncodeSegmentHeader({kFormatVersion, 0, 0, 1});
    const char* values[] = {"v0", "", "a somewhat longer value, 40 bytes long..", "x"};
    for (int i = 0; i < 6; ++i) {
      Original o;
      o.key = "key" + std::to_string(i);
      o.metadata = i == 2 ? "{\"m\":1}" : "";
      o.value = std::string(values[i % 4]) + std::string(i * 7, 'a' + i);
      o.revision = 100 + i;
      o.offset = f->segment.size();
      f->segment += Encode(RecordType::kPut, o.key, o.metadata, o.value, o.revision);
      o.size = f->segment.size() - o.offset;
      f->records.push_back(o);
    }
    atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(Setup().dir, ec);
    });
    return f;
  }();
  return *f;
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), bytes.size());
  Check(out.good(), "write file");
}

// 1. The record decoder on arbitrary bytes.
void FuzzDecode(std::string_view bytes) {
  RecordHeader header;
  DecodeStatus hs = DecodeRecordHeader(bytes, kMaxValueBytesLimit, &header);
  RecordView r;
  size_t consumed = 0;
  DecodeStatus s = DecodeRecord(bytes, 1 << 20, &r, &consumed);
  if (s == DecodeStatus::kOk) {
    Check(hs == DecodeStatus::kOk, "a record that decodes has a valid header");
    Check(consumed == header.record_size() && consumed <= bytes.size(), "consumed");
    std::string again;
    AppendRecord(r, &again);
    Check(again == bytes.substr(0, consumed), "a decoded record re-encodes to its bytes");
  }
  if (hs == DecodeStatus::kIncomplete) Check(bytes.size() < kRecordHeaderSize, "incomplete");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  const uint8_t where_byte = data[1];
  std::string_view fuzz(reinterpret_cast<const char*>(data + 2), size - 2);
  if (fuzz.size() > 4096) return 0;
  FuzzDecode(fuzz);

  Fixture& f = Setup();
  const std::string& orig = f.segment;
  const size_t where =
      kSegmentHeaderSize + where_byte % (orig.size() - kSegmentHeaderSize + 1);
  std::string seg;
  size_t damage;  // first byte that may differ from the original file
  switch (mode & 3) {
    case 0:
      seg = orig + std::string(fuzz);
      damage = orig.size();
      break;
    case 1:
      seg = orig.substr(0, where) + std::string(fuzz);
      damage = where;
      break;
    case 2:
      seg = orig;
      if (seg.size() < where + fuzz.size()) seg.resize(where + fuzz.size());
      seg.replace(where, fuzz.size(), fuzz);
      damage = where;
      break;
    default:
      seg = orig.substr(0, where);
      damage = where;
      break;
  }
  const bool sealed = mode & 4;

  // Records that lie wholly before the damage, and whether a record decodable anywhere
  // else in the file could change one of them.
  std::set<std::string> intact;
  std::set<size_t> intact_offsets;
  for (const Original& o : f.records) {
    if (o.offset + o.size <= damage) {
      intact.insert(o.key);
      intact_offsets.insert(o.offset);
    }
  }
  bool relaxed = false;
  for (size_t off = kSegmentHeaderSize; off < seg.size() && !relaxed; ++off) {
    if (intact_offsets.count(off)) continue;
    RecordView r;
    size_t consumed;
    if (DecodeRecord(std::string_view(seg).substr(off), 1 << 20, &r, &consumed) !=
        DecodeStatus::kOk) {
      continue;
    }
    bool original = false;
    for (const Original& o : f.records) original |= o.offset == off && o.key == r.key;
    if (original) continue;  // an undamaged original record after the damage
    relaxed = r.type == RecordType::kFlush || intact.count(std::string(r.key)) > 0;
  }

  const std::string ns_dir = f.dir + "/" + NamespaceDirName(0);
  std::error_code ec;
  std::filesystem::remove_all(ns_dir, ec);
  std::filesystem::create_directories(ns_dir);
  WriteFile(ns_dir + "/" + SegmentFileName(1), seg);
  if (sealed) {
    WriteFile(ns_dir + "/" + SegmentFileName(2),
              EncodeSegmentHeader({kFormatVersion, 0, 0, 2}) +
                  Encode(RecordType::kPut, "active", "", "A", 1000));
  }

  auto verify = [&](Engine& e) {
    if (relaxed) {
      for (const Original& o : f.records) (void)e.Get(0, o.key);
      return;
    }
    for (const Original& o : f.records) {
      if (!intact.count(o.key)) continue;
      absl::StatusOr<Entry> got = e.Get(0, o.key);
      if (!got.ok()) fprintf(stderr, "Get(%s): %s\n", o.key.c_str(), got.status().ToString().c_str());
      Check(got.ok(), "an intact record before the damage is served");
      Check(got->value == o.value, "with its value");
      Check(got->metadata == o.metadata, "with its metadata");
      Check(got->revision == o.revision, "with its revision");
    }
    if (sealed) {
      absl::StatusOr<Entry> got = e.Get(0, "active");
      Check(got.ok() && got->value == "A", "the active segment after a damaged sealed one");
    }
  };

  {
    absl::StatusOr<std::unique_ptr<Engine>> e = LogEngine::Open(f.options, f.dir, Env::Default());
    if (!e.ok()) fprintf(stderr, "Open: %s\n", e.status().ToString().c_str());
    Check(e.ok(), "Open succeeds on a damaged segment");
    verify(**e);
    (void)(*e)->KeyCount(0);
    PutOptions put;
    absl::StatusOr<PutResult> p = (*e)->Put(0, "after-recovery", "new", put);
    Check(p.ok(), "a put after recovery");
    Check((*e)->Commit().ok(), "a commit after recovery");
  }
  {
    absl::StatusOr<std::unique_ptr<Engine>> e = LogEngine::Open(f.options, f.dir, Env::Default());
    if (!e.ok()) fprintf(stderr, "reopen: %s\n", e.status().ToString().c_str());
    Check(e.ok(), "reopen after a write following recovery");
    verify(**e);
    absl::StatusOr<Entry> got = (*e)->Get(0, "after-recovery");
    Check(got.ok() && got->value == "new", "the write after recovery survives a reopen");
  }
  return 0;
}
