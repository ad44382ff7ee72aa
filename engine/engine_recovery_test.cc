// What Engine::Open rebuilds from disk: values, revisions and expiry after a clean reopen;
// torn tails and damaged records (FORMAT.md "Recovery"); several segments; the MANIFEST.
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/log_engine.h"
#include "engine/manifest.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"
#include "engine/test_util.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr int64_t kStartUs = 1'700'000'000'000'000;
int64_t g_now_us = kStartUs;
int64_t FakeNow() { return g_now_us; }
int64_t NowMs() { return g_now_us / 1000; }

class EngineRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now_us = kStartUs;
    options_.now_us = FakeNow;
  }

  absl::StatusOr<std::unique_ptr<Engine>> TryOpen() {
    engine_.reset();
    return Engine::Open(options_, dir_.path());
  }

  Engine& Open() {
    absl::StatusOr<std::unique_ptr<Engine>> engine = TryOpen();
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    return *engine_;
  }

  uint64_t PutAndCommit(uint32_t ns, std::string_view key, std::string_view value,
                        int64_t expire_at_ms = 0) {
    PutOptions options;
    options.expire_at_ms = expire_at_ms;
    absl::StatusOr<PutResult> r = engine_->Put(ns, key, value, options);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(engine_->Commit().ok());
    return r.ok() ? r->revision : 0;
  }

  std::string Value(uint32_t ns, std::string_view key) {
    absl::StatusOr<Entry> e = engine_->Get(ns, key);
    if (absl::IsNotFound(e.status())) return "<NotFound>";
    if (!e.ok()) return e.status().ToString();
    return e->value;
  }

  std::string SegmentPath(uint32_t ns, uint64_t sequence = 1) const {
    return dir_.path() + "/" + NamespaceDirName(ns) + "/" + SegmentFileName(sequence);
  }

  // A segment file written by hand: header, then `records`.
  void WriteSegment(uint32_t ns, uint64_t sequence, const std::string& records) {
    testing::WriteFile(SegmentPath(ns, sequence),
                       EncodeSegmentHeader({kFormatVersion, options_.shard_id, ns, sequence}) +
                           records);
  }

  static std::string Record(RecordType type, std::string_view key, std::string_view value,
                            uint64_t revision) {
    RecordView r;
    r.type = type;
    r.key = key;
    r.value = value;
    r.revision = revision;
    std::string out;
    AppendRecord(r, &out);
    return out;
  }

  testing::TempDir dir_;
  Options options_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineRecoveryTest, ReopenRecoversValuesRevisionsAndExpiry) {
  Open();
  const uint64_t rev_a = PutAndCommit(0, "a", "1");
  PutAndCommit(0, "b", "old");
  const uint64_t rev_b = PutAndCommit(0, "b", "new", NowMs() + 60'000);
  PutAndCommit(0, "c", "doomed");
  ASSERT_TRUE(engine_->Delete(0, "c")->deleted);
  ASSERT_TRUE(engine_->Commit().ok());
  PutAndCommit(7, "a", "seven");

  Open();
  const RecoveryStats& stats = engine_->recovery_stats();
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_EQ(stats.records, 6u);
  EXPECT_EQ(stats.keys, 3u);
  EXPECT_EQ(stats.torn_bytes_truncated, 0u);
  EXPECT_EQ(stats.corrupt_records, 0u);
  EXPECT_GT(stats.bytes_scanned, 0u);

  absl::StatusOr<Entry> a = engine_->Get(0, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "1");
  EXPECT_EQ(a->revision, rev_a);
  EXPECT_EQ(a->expire_at_ms, 0);
  absl::StatusOr<Entry> b = engine_->Get(0, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->value, "new");
  EXPECT_EQ(b->revision, rev_b);
  EXPECT_EQ(b->expire_at_ms, NowMs() + 60'000);
  EXPECT_EQ(Value(0, "c"), "<NotFound>");
  EXPECT_EQ(Value(7, "a"), "seven");
  EXPECT_EQ(*engine_->KeyCount(0), 2u);
}

TEST_F(EngineRecoveryTest, RevisionsAfterReopenExceedRecoveredOnesEvenIfTheClockWentBack) {
  options_.shard_id = 3;
  options_.shard_count = 4;
  Open();
  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) last = PutAndCommit(0, "k", "v");
  // A tombstone's revision counts too.
  ASSERT_TRUE(engine_->Delete(0, "k")->deleted);
  ASSERT_TRUE(engine_->Commit().ok());
  g_now_us -= 3'600'000'000;  // an hour back
  Open();
  const uint64_t next = PutAndCommit(0, "k", "v");
  EXPECT_GT(next, last + kMaxShards);  // above the tombstone's revision too
  EXPECT_EQ(next & (kMaxShards - 1), 3u);
}

TEST_F(EngineRecoveryTest, KeysExpiredByReopenAreNotCounted) {
  Open();
  PutAndCommit(0, "short", "v", NowMs() + 1000);
  PutAndCommit(0, "long", "v", NowMs() + 100'000);
  g_now_us += 2'000'000;
  Open();
  EXPECT_EQ(engine_->recovery_stats().keys, 1u);
  EXPECT_EQ(*engine_->KeyCount(0), 1u);
  EXPECT_EQ(Value(0, "short"), "<NotFound>");
  EXPECT_EQ(Value(0, "long"), "v");
}

TEST_F(EngineRecoveryTest, TornTailIsTruncatedAndEarlierRecordsSurvive) {
  Open();
  PutAndCommit(0, "a", "1");
  PutAndCommit(0, "b", "2");
  const uint64_t good = testing::FileSize(SegmentPath(0));
  PutAndCommit(0, "c", std::string(100, 'x'));
  engine_.reset();
  const std::string bytes = testing::ReadFile(SegmentPath(0));
  testing::WriteFile(SegmentPath(0), bytes.substr(0, good + 50));  // cut inside "c"

  Open();
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 50u);
  EXPECT_EQ(testing::FileSize(SegmentPath(0)), good);
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "b"), "2");
  EXPECT_EQ(Value(0, "c"), "<NotFound>");

  // New records follow the last good one and survive the next reopen.
  PutAndCommit(0, "d", "4");
  Open();
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 0u);
  EXPECT_EQ(Value(0, "b"), "2");
  EXPECT_EQ(Value(0, "d"), "4");
}

// Power loss: the active segment cut at every byte offset of its last records. Recovery
// keeps exactly the records wholly before the cut, serves them with their values, and never
// a partial one (issue 14).
TEST_F(EngineRecoveryTest, PowerLossAtEveryOffsetOfTheLastRecordsKeepsEveryWholeRecord) {
  Open();
  std::vector<uint64_t> end_of;  // end_of[i]: segment size once record i is committed
  for (int i = 0; i < 8; ++i) {
    PutAndCommit(0, "p" + std::to_string(i), "value-" + std::to_string(i) + std::string(i, '#'));
    end_of.push_back(testing::FileSize(SegmentPath(0)));
  }
  engine_.reset();
  const std::string bytes = testing::ReadFile(SegmentPath(0));
  ASSERT_EQ(bytes.size(), end_of.back());
  for (uint64_t cut = end_of[3]; cut <= end_of.back(); ++cut) {
    testing::WriteFile(SegmentPath(0), bytes.substr(0, cut));
    ASSERT_TRUE(TryOpen().ok()) << "cut at " << cut;
    engine_ = *TryOpen();
    for (int i = 0; i < 8; ++i) {
      const std::string want = end_of[i] <= cut
                                   ? "value-" + std::to_string(i) + std::string(i, '#')
                                   : "<NotFound>";
      EXPECT_EQ(Value(0, "p" + std::to_string(i)), want) << "cut at " << cut << ", record " << i;
    }
    engine_.reset();
  }
}

// Bit flips anywhere past the header of a sealed segment, and in its hint file: recovery
// succeeds, and every key then reads as its one written value, as absent, or as an error;
// never as other bytes (issue 14).
TEST_F(EngineRecoveryTest, BitFlipsInSealedSegmentsAndHintsNeverServeCorruptData) {
  options_.segment_bytes = 300;
  Open();
  const int kKeys = 24;
  auto value_of = [](int i) { return "v" + std::to_string(i) + "-" + std::string(8, 'a' + i % 26); };
  for (int i = 0; i < kKeys; ++i) PutAndCommit(0, "f" + std::to_string(i), value_of(i));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(engine_->RunBackgroundWork().ok());  // hint files
  ASSERT_GE(engine_->Stats().namespaces[0].sealed_segments, 2u);
  engine_.reset();
  const std::string dir = dir_.path() + "/" + NamespaceDirName(0) + "/";
  ASSERT_TRUE(*Env::Default()->Exists(dir + HintFileName(1))) << "background work built no hint";
  for (const std::string& name : {SegmentFileName(1), HintFileName(1)}) {
    const std::string path = dir + name;
    const std::string original = testing::ReadFile(path);
    int noticed = 0;  // flips after which some key read as absent or as an error
    const size_t first = name == SegmentFileName(1) ? 40 : 0;  // past the segment header
    for (size_t at = first; at < original.size(); ++at) {
      std::string damaged = original;
      damaged[at] ^= static_cast<char>(1 << (at % 8));
      testing::WriteFile(path, damaged);
      absl::StatusOr<std::unique_ptr<Engine>> opened = TryOpen();
      if (!opened.ok()) {
        // Only damage that makes the layout unknowable may refuse to open, never silently.
        EXPECT_TRUE(absl::IsDataLoss(opened.status())) << name << " @" << at << ": "
                                                       << opened.status();
        continue;
      }
      engine_ = *std::move(opened);
      for (int i = 0; i < kKeys; ++i) {
        const std::string got = Value(0, "f" + std::to_string(i));
        if (got == value_of(i)) continue;
        ++noticed;
        if (got == "<NotFound>") continue;
        EXPECT_NE(got.find("DATA_LOSS"), std::string::npos)
            << name << " @" << at << ": key f" << i << " read as " << got;
      }
      engine_.reset();
    }
    if (name == HintFileName(1)) {
      // A damaged hint is detected (checksum) and the intact segment scanned instead:
      // nothing is lost.
      EXPECT_EQ(noticed, 0) << name;
    } else {
      EXPECT_GT(noticed, 0) << name << ": no flip was noticed; is the file read at all?";
    }
    testing::WriteFile(path, original);
  }
}

TEST_F(EngineRecoveryTest, GarbageAppendedAfterTheLastRecordIsTruncated) {
  Open();
  PutAndCommit(0, "a", "1");
  engine_.reset();
  const uint64_t good = testing::FileSize(SegmentPath(0));
  testing::WriteFile(SegmentPath(0),
                     testing::ReadFile(SegmentPath(0)) + std::string(1000, '\x5a'));
  Open();
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 1000u);
  EXPECT_EQ(testing::FileSize(SegmentPath(0)), good);
  EXPECT_EQ(Value(0, "a"), "1");
}

TEST_F(EngineRecoveryTest, BitFlipInTheLastRecordDropsOnlyThatRecord) {
  Open();
  PutAndCommit(0, "a", "1");
  const uint64_t good = testing::FileSize(SegmentPath(0));
  PutAndCommit(0, "b", "2");
  engine_.reset();
  std::string bytes = testing::ReadFile(SegmentPath(0));
  bytes.back() ^= 0x01;  // in the value of "b"
  testing::WriteFile(SegmentPath(0), bytes);

  Open();
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, bytes.size() - good);
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "b"), "<NotFound>");
}

// The scan's one rule (segment_reader.h): in the active segment too, damage followed by
// intact records is damage, not a torn tail: counted, never served, and every intact record
// after it is kept (and the file is not cut). A bit flip at every byte of a middle record.
TEST_F(EngineRecoveryTest, DamageInTheMiddleOfTheActiveSegmentKeepsTheRecordsAfterIt) {
  Open();
  PutAndCommit(0, "a", "1");
  const uint64_t b_start = testing::FileSize(SegmentPath(0));
  PutAndCommit(0, "b", "2222");
  const uint64_t b_end = testing::FileSize(SegmentPath(0));
  PutAndCommit(0, "c", "333");
  PutAndCommit(0, "d", "44");
  engine_.reset();
  const std::string original = testing::ReadFile(SegmentPath(0));
  for (uint64_t at = b_start; at < b_end; ++at) {
    std::string damaged = original;
    damaged[at] ^= static_cast<char>(1 << (at % 8));
    testing::WriteFile(SegmentPath(0), damaged);
    Open();
    EXPECT_EQ(Value(0, "a"), "1") << "flip at " << at;
    EXPECT_EQ(Value(0, "b"), "<NotFound>") << "flip at " << at;
    const bool lengths_usable = Value(0, "c") == "333";
    if (lengths_usable) {
      EXPECT_EQ(Value(0, "d"), "44") << "flip at " << at;
      EXPECT_EQ(engine_->recovery_stats().corrupt_records, 1u) << "flip at " << at;
      EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 0u) << "flip at " << at;
      EXPECT_EQ(testing::FileSize(SegmentPath(0)), original.size()) << "flip at " << at;
    } else {
      // A damaged length field: nothing after it can be located, so the rest is a tail.
      EXPECT_EQ(Value(0, "d"), "<NotFound>") << "flip at " << at;
      EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, original.size() - b_start)
          << "flip at " << at;
    }
    engine_.reset();
  }
}

TEST_F(EngineRecoveryTest, DamagedRecordIsDataLossOnGetAndNeverServed) {
  options_.memory_bytes = 0;  // no value cache: every read goes to the file
  Open();
  PutAndCommit(0, "a", "hello");
  PutAndCommit(0, "b", "world");
  // Damage "a" under the running engine (bit rot): its checksum no longer holds.
  std::string bytes = testing::ReadFile(SegmentPath(0));
  const size_t a_value = kSegmentHeaderSize + kRecordHeaderSize + 1;
  ASSERT_EQ(bytes.substr(a_value, 5), "hello");
  bytes[a_value] ^= 0x20;
  testing::WriteFile(SegmentPath(0), bytes);
  absl::Status s = engine_->Get(0, "a").status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_EQ(Value(0, "b"), "world");
}

TEST_F(EngineRecoveryTest, SegmentsAreReplayedInSequenceOrder) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  // The later segment is written first on purpose: directory order must not matter.
  WriteSegment(0, kSequenceStride,
               Record(RecordType::kPut, "k", "second", 300) +
                   Record(RecordType::kTombstone, "gone", "", 301));
  WriteSegment(0, 1,
               Record(RecordType::kPut, "k", "first", 100) +
                   Record(RecordType::kPut, "gone", "x", 101) +
                   Record(RecordType::kPut, "kept", "y", 102));
  Open();
  EXPECT_EQ(engine_->recovery_stats().segments, 2u);
  EXPECT_EQ(engine_->recovery_stats().records, 5u);
  EXPECT_EQ(Value(0, "k"), "second");
  EXPECT_EQ(Value(0, "gone"), "<NotFound>");
  EXPECT_EQ(Value(0, "kept"), "y");  // read from the sealed segment
  EXPECT_EQ(engine_->Get(0, "k")->revision, 300u);

  // Writes go to the last (active) segment.
  const uint64_t seg2 = testing::FileSize(SegmentPath(0, kSequenceStride));
  PutAndCommit(0, "new", "z");
  EXPECT_GT(testing::FileSize(SegmentPath(0, kSequenceStride)), seg2);
  Open();
  EXPECT_EQ(Value(0, "new"), "z");
  EXPECT_EQ(Value(0, "kept"), "y");
}

TEST_F(EngineRecoveryTest, CorruptRecordInASealedSegmentIsSkippedAndCounted) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  std::string bad = Record(RecordType::kPut, "b", "damaged", 101);
  bad.back() ^= 0x01;
  WriteSegment(0, 1,
               Record(RecordType::kPut, "a", "1", 100) + bad +
                   Record(RecordType::kPut, "c", "3", 102));
  WriteSegment(0, kSequenceStride, Record(RecordType::kPut, "d", "4", 103));
  Open();
  EXPECT_EQ(engine_->recovery_stats().corrupt_records, 1u);
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 0u);
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "b"), "<NotFound>");
  EXPECT_EQ(Value(0, "c"), "3");  // found again after the bad record
  EXPECT_EQ(Value(0, "d"), "4");
}

TEST_F(EngineRecoveryTest, UnusableLengthsInASealedSegmentSkipItsRest) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  std::string bad = Record(RecordType::kPut, "b", "2", 101);
  bad[24 + 3] = 0x40;  // key_len far beyond kMaxKeyBytes
  const std::string sealed = Record(RecordType::kPut, "a", "1", 100) + bad +
                             Record(RecordType::kPut, "c", "3", 102);
  WriteSegment(0, 1, sealed);
  WriteSegment(0, kSequenceStride, Record(RecordType::kPut, "d", "4", 103));
  Open();
  EXPECT_EQ(engine_->recovery_stats().corrupt_records, 1u);
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "c"), "<NotFound>");
  EXPECT_EQ(Value(0, "d"), "4");
  // Sealed segments are never truncated: the damage stays for an operator to inspect.
  EXPECT_EQ(testing::FileSize(SegmentPath(0, 1)), kSegmentHeaderSize + sealed.size());
}

TEST_F(EngineRecoveryTest, SegmentWithATornHeaderIsRemovedAndRecreated) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  testing::WriteFile(SegmentPath(0), EncodeSegmentHeader({kFormatVersion, 0, 0, 1}).substr(0, 10));
  Open();
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, 10u);
  EXPECT_FALSE(*Env::Default()->Exists(SegmentPath(0)));
  PutAndCommit(0, "k", "v");
  Open();
  EXPECT_EQ(Value(0, "k"), "v");
}

TEST_F(EngineRecoveryTest, DamagedSegmentHeaderIsDataLoss) {
  Open();
  PutAndCommit(0, "k", "v");
  engine_.reset();
  std::string bytes = testing::ReadFile(SegmentPath(0));
  bytes[12] ^= 0x01;  // shard_id
  testing::WriteFile(SegmentPath(0), bytes);
  EXPECT_TRUE(absl::IsDataLoss(TryOpen().status()));
}

TEST_F(EngineRecoveryTest, SegmentOfAnotherShardIsRefused) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  testing::WriteFile(SegmentPath(0), EncodeSegmentHeader({kFormatVersion, 9, 0, 1}));
  absl::Status s = TryOpen().status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_F(EngineRecoveryTest, ExpireAndFlushRecordsAreReplayed) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  const int64_t later = NowMs() + 60'000;
  std::string records = Record(RecordType::kPut, "flushed", "x", 100) +
                        Record(RecordType::kFlush, "", "", 101) +
                        Record(RecordType::kPut, "ttl", "v", 102) +
                        Record(RecordType::kPut, "persisted", "p", 103) +
                        Record(RecordType::kExpire, "orphan", "", 104);  // no such key: moot
  RecordView expire;
  expire.type = RecordType::kExpire;
  expire.key = "ttl";
  expire.revision = 105;
  expire.expire_at_ms = later;
  AppendRecord(expire, &records);
  WriteSegment(0, 1, records);
  Open();
  EXPECT_EQ(engine_->recovery_stats().records, 6u);
  EXPECT_EQ(Value(0, "flushed"), "<NotFound>");
  absl::StatusOr<Entry> ttl = engine_->Get(0, "ttl");
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(ttl->value, "v");
  EXPECT_EQ(ttl->revision, 105u);  // the expire-only record's
  EXPECT_EQ(ttl->expire_at_ms, later);
  EXPECT_EQ(Value(0, "persisted"), "p");
  EXPECT_EQ(Value(0, "orphan"), "<NotFound>");
  EXPECT_EQ(*engine_->KeyCount(0), 2u);
}

TEST_F(EngineRecoveryTest, UnknownRecordTypeIsATornTailInTheActiveSegment) {
  Open();
  engine_.reset();
  ASSERT_TRUE(Env::Default()->CreateDir(dir_.path() + "/ns-0").ok());
  std::string bad = Record(RecordType::kPut, "b", "2", 101);
  bad[4] = 5;  // no such type
  WriteSegment(0, 1, Record(RecordType::kPut, "a", "1", 100) + bad);
  Open();
  EXPECT_EQ(engine_->recovery_stats().torn_bytes_truncated, bad.size());
  EXPECT_EQ(Value(0, "a"), "1");
  EXPECT_EQ(Value(0, "b"), "<NotFound>");
}

TEST_F(EngineRecoveryTest, ExpiryChangesSurviveReopen) {
  Open();
  PutAndCommit(0, "extended", "e", NowMs() + 1000);
  PutAndCommit(0, "persisted", "p", NowMs() + 1000);
  PutAndCommit(0, "shortened", "s");
  PutAndCommit(0, "deleted", "d");
  ASSERT_TRUE(engine_->SetExpiry(0, "extended", NowMs() + 100'000).ok());
  absl::StatusOr<uint64_t> persist = engine_->SetExpiry(0, "persisted", 0);
  ASSERT_TRUE(persist.ok());
  ASSERT_TRUE(engine_->SetExpiry(0, "shortened", NowMs() + 500).ok());
  ASSERT_TRUE(engine_->SetExpiry(0, "deleted", NowMs() - 1).ok());
  ASSERT_TRUE(engine_->Commit().ok());
  g_now_us += 2'000'000;  // past the original expiries and the shortened one
  Open();
  EXPECT_EQ(Value(0, "extended"), "e");
  EXPECT_EQ(engine_->Get(0, "extended")->expire_at_ms, NowMs() - 2000 + 100'000);
  absl::StatusOr<Entry> p = engine_->Get(0, "persisted");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->expire_at_ms, 0);
  EXPECT_EQ(p->revision, *persist);
  EXPECT_EQ(Value(0, "shortened"), "<NotFound>");
  EXPECT_EQ(Value(0, "deleted"), "<NotFound>");
  EXPECT_EQ(*engine_->KeyCount(0), 2u);
  // The clock resumes above the expire-only records' revisions.
  EXPECT_GT(PutAndCommit(0, "next", "n"), *persist);
}

TEST_F(EngineRecoveryTest, FlushSurvivesReopenAndLaterPutsSurviveIt) {
  Open();
  PutAndCommit(0, "old1", "x");
  PutAndCommit(0, "old2", "y");
  PutAndCommit(1, "other", "z");
  absl::StatusOr<uint64_t> flush = engine_->Flush(0);
  ASSERT_TRUE(flush.ok());
  ASSERT_TRUE(engine_->Commit().ok());
  PutAndCommit(0, "new", "after");
  PutAndCommit(0, "old2", "again");
  Open();
  EXPECT_EQ(Value(0, "old1"), "<NotFound>");
  EXPECT_EQ(Value(0, "old2"), "again");
  EXPECT_EQ(Value(0, "new"), "after");
  EXPECT_EQ(Value(1, "other"), "z");  // other namespaces are untouched
  EXPECT_EQ(*engine_->KeyCount(0), 2u);
}

TEST_F(EngineRecoveryTest, RenameAndMetadataSurviveReopen) {
  Open();
  PutOptions options;
  options.metadata = "{\"type\":\"text\"}";
  options.expire_at_ms = NowMs() + 60'000;
  ASSERT_TRUE(engine_->Put(0, "from", "value", options).ok());
  ASSERT_TRUE(engine_->Commit().ok());
  absl::StatusOr<RenameResult> r = engine_->Rename(0, "from", "to", false);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(engine_->Commit().ok());
  Open();
  EXPECT_EQ(Value(0, "from"), "<NotFound>");
  absl::StatusOr<Entry> to = engine_->Get(0, "to");
  ASSERT_TRUE(to.ok()) << to.status();
  EXPECT_EQ(to->value, "value");
  EXPECT_EQ(to->metadata, "{\"type\":\"text\"}");
  EXPECT_EQ(to->revision, r->revision);
  EXPECT_EQ(to->expire_at_ms, NowMs() + 60'000);
}

TEST_F(EngineRecoveryTest, SealedSegmentsAreRecovered) {
  options_.segment_bytes = 200;
  Open();
  for (int i = 0; i < 20; ++i) PutAndCommit(0, "k" + std::to_string(i % 7), std::to_string(i));
  ASSERT_TRUE(engine_->Delete(0, "k3")->deleted);
  ASSERT_TRUE(engine_->Commit().ok());
  const EngineStats before = engine_->Stats();
  ASSERT_EQ(before.namespaces.size(), 1u);
  EXPECT_GE(before.namespaces[0].sealed_segments, 3u);
  Open();
  // The last segment is active again if it was written at all after the last seal.
  EXPECT_GE(engine_->recovery_stats().segments, before.namespaces[0].sealed_segments);
  for (int k = 0; k < 7; ++k) {
    // The last i in [0, 20) with i % 7 == k.
    const std::string expected =
        k == 3 ? "<NotFound>" : std::to_string(k + 14 <= 19 ? k + 14 : k + 7);
    EXPECT_EQ(Value(0, "k" + std::to_string(k)), expected) << k;
  }
  EXPECT_EQ(engine_->Stats().namespaces[0].log_bytes, before.namespaces[0].log_bytes);
}

TEST_F(EngineRecoveryTest, ManifestMismatchIsRefusedNamingBothLayouts) {
  options_.shard_id = 1;
  options_.shard_count = 4;
  Open();
  engine_.reset();

  options_.shard_count = 8;
  absl::Status s = TryOpen().status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("shard 1 of shard_count 4"), std::string::npos) << s;
  EXPECT_NE(s.message().find("shard 1 of shard_count 8"), std::string::npos) << s;

  options_.shard_count = 4;
  options_.shard_id = 2;
  s = TryOpen().status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("shard 2 of shard_count 4"), std::string::npos) << s;

  options_.shard_id = 1;
  Open();  // the right layout still opens
}

// A directory of storage format 1 (µs revisions above 2^53) is refused with a message that
// says why and what to do, not a bare version number.
TEST_F(EngineRecoveryTest, FormatOneDirectoryIsRefusedWithAnExplanation) {
  Open();
  PutAndCommit(0, "k", "v");
  engine_.reset();
  ASSERT_TRUE(WriteManifest(Env::Default(), dir_.path(), {1, 0, 1}).ok());
  absl::Status s = TryOpen().status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("storage format 1"), std::string::npos) << s;
  EXPECT_NE(s.message().find("2^53"), std::string::npos) << s;
  EXPECT_NE(s.message().find("new data directory"), std::string::npos) << s;
}

TEST_F(EngineRecoveryTest, DamagedManifestIsDataLoss) {
  Open();
  engine_.reset();
  std::string manifest = testing::ReadFile(dir_.path() + "/MANIFEST");
  manifest[manifest.find("shard_count 1") + 12] = '2';
  testing::WriteFile(dir_.path() + "/MANIFEST", manifest);
  absl::Status s = TryOpen().status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_F(EngineRecoveryTest, MissingManifestNextToDataIsDataLoss) {
  Open();
  PutAndCommit(0, "k", "v");
  engine_.reset();
  ASSERT_TRUE(Env::Default()->RemoveFile(dir_.path() + "/MANIFEST").ok());
  absl::Status s = TryOpen().status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

}  // namespace
}  // namespace beyondkv::engine
