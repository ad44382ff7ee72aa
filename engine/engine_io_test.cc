// The engine's completion-driven I/O (engine.h "Completion-driven I/O"): group commit through
// an io_uring with linked fdatasyncs, read-ahead of cold records, the everysec fdatasync
// through the ring; and power loss under each fsync policy (FaultInjectionEnv drops every
// byte not fdatasynced), which a process kill cannot show because the page cache survives it.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/engine.h"
#include "engine/log_engine.h"
#include "engine/record_format.h"
#include "engine/segment_file.h"
#include "engine/segment_window.h"
#include "engine/test_util.h"
#include "engine/uring.h"
#include "gtest/gtest.h"

namespace beyondkv::engine {
namespace {

constexpr int64_t kStartUs = 1'700'000'000'000'000;
int64_t g_now_us = kStartUs;
int64_t FakeNow() { return g_now_us; }

std::string Key(int i) { return absl::StrCat("key", 100000 + i); }
std::string ValueOf(int i, size_t size) {
  std::string v = absl::StrCat("value-", i, "-");
  v.resize(size, static_cast<char>('a' + i % 26));
  return v;
}

class EngineIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_now_us = kStartUs;
    options_.now_us = FakeNow;
    // These tests are about the ring's own path; AppendPath::kInline has its own test.
    options_.append_path = Options::AppendPath::kRing;
    absl::StatusOr<std::unique_ptr<Uring>> ring = Uring::Create(64);
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = *std::move(ring);
  }
  void TearDown() override {
    Close();
    ring_.reset();
  }

  // Opens (or reopens) on `env`, with the ring attached unless `with_ring` is false.
  Engine& Open(Env* env, bool with_ring = true) {
    Close();
    absl::StatusOr<std::unique_ptr<Engine>> engine = LogEngine::Open(options_, dir_.path(), env);
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    if (with_ring) engine_->AttachRing(ring_.get());
    return *engine_;
  }
  void Close() {
    if (engine_ == nullptr) return;
    RunRingUntil([&] { return !engine_->io_pending(); });
    engine_->AttachRing(nullptr);
    engine_.reset();
  }

  // Runs the ring until `pred` holds (at most 10 s).
  template <typename Pred>
  void RunRingUntil(Pred pred) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!pred() && absl::Now() < deadline) ring_->Run(absl::Milliseconds(5));
    ASSERT_TRUE(pred()) << "timed out waiting for the ring";
  }

  absl::Status CommitAndWait() {
    bool called = false;
    absl::Status result;
    engine_->CommitAsync([&](absl::Status s) {
      called = true;
      result = std::move(s);
    });
    RunRingUntil([&] { return called; });
    return result;
  }

  std::string Value(uint32_t ns, std::string_view key) {
    absl::StatusOr<Entry> e = engine_->Get(ns, key);
    if (absl::IsNotFound(e.status())) return "<NotFound>";
    if (!e.ok()) return e.status().ToString();
    return e->value;
  }

  testing::TempDir dir_;
  Options options_;
  std::unique_ptr<Uring> ring_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineIoTest, CommitAsyncWritesAndSyncsThroughTheRingWithoutWaiting) {
  options_.fsync = FsyncPolicy::kAlways;
  Open(Env::Default());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine_->Put(0, Key(i), ValueOf(i, 100), {}).ok());
  ASSERT_TRUE(engine_->Put(2, "other", "namespace", {}).ok());
  const uint64_t sqes_before = ring_->submitted_sqes();
  bool called = false;
  absl::Status result = absl::UnknownError("not called");
  engine_->CommitAsync([&](absl::Status s) {
    called = true;
    result = s;
  });
  // Returned before the writes completed: the engine thread is free meanwhile.
  EXPECT_FALSE(called);
  EXPECT_TRUE(engine_->io_pending());
  // Reads see the batch; mutations wait for the commit.
  EXPECT_EQ(Value(0, Key(1)), ValueOf(1, 100));
  absl::StatusOr<PutResult> refused = engine_->Put(0, "late", "x", {});
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  RunRingUntil([&] { return called; });
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_FALSE(engine_->io_pending());
  // One write and one linked fdatasync per namespace of the batch.
  EXPECT_EQ(ring_->submitted_sqes() - sqes_before, 4u);
  ASSERT_TRUE(engine_->Put(0, "late", "x", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());

  Open(Env::Default(), /*with_ring=*/false);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Value(0, Key(i)), ValueOf(i, 100));
  EXPECT_EQ(Value(2, "other"), "namespace");
  EXPECT_EQ(Value(0, "late"), "x");
}

// Appends written with pwrite on the engine thread (the path taken where the filesystem would
// make io_uring punt buffered writes to a worker): under --fsync always the fdatasync still
// goes through the ring, the commit completes only after it, and everything survives a
// reopen.
TEST_F(EngineIoTest, InlineAppendsSyncThroughTheRingAndSurviveReopen) {
  options_.append_path = Options::AppendPath::kInline;
  options_.fsync = FsyncPolicy::kAlways;
  Open(Env::Default());
  const uint64_t sqes_before = ring_->submitted_sqes();
  for (int batch = 0; batch < 10; ++batch) {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(engine_->Put(0, Key(batch * 5 + i), ValueOf(batch * 5 + i, 200), {}).ok());
    }
    bool called = false;
    engine_->CommitAsync([&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      called = true;
    });
    EXPECT_FALSE(called) << "completed before its fdatasync";
    RunRingUntil([&] { return called; });
  }
  EXPECT_EQ(ring_->submitted_sqes() - sqes_before, 10u) << "one fdatasync per batch, no writes";
  Open(Env::Default(), /*with_ring=*/false);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Value(0, Key(i)), ValueOf(i, 200));
}

TEST_F(EngineIoTest, ManyBatchesThroughTheRingSurviveReopenAndSealSegments) {
  options_.fsync = FsyncPolicy::kEverySec;
  options_.segment_bytes = 16 << 10;  // several seals on the way
  Open(Env::Default());
  int next = 0;
  for (int batch = 0; batch < 50; ++batch) {
    for (int i = 0; i < 10; ++i, ++next) {
      ASSERT_TRUE(engine_->Put(next % 3, Key(next), ValueOf(next, 300), {}).ok());
    }
    ASSERT_TRUE(CommitAndWait().ok());
  }
  EngineStats stats = engine_->Stats();
  uint64_t sealed = 0;
  for (const NamespaceStats& ns : stats.namespaces) sealed += ns.sealed_segments;
  EXPECT_GT(sealed, 3u);
  Open(Env::Default(), /*with_ring=*/false);
  for (int i = 0; i < next; ++i) ASSERT_EQ(Value(i % 3, Key(i)), ValueOf(i, 300)) << i;
}

// With a ring, sealing a segment creates the next one at once (before the sealing fdatasync
// starts its writeback: log_engine.cc SealActive), holding only its header; a reopen takes
// that empty segment for the active one and every record is there.
TEST_F(EngineIoTest, SealingCreatesTheNextSegmentAndAReopenTakesItAsActive) {
  options_.fsync = FsyncPolicy::kEverySec;
  options_.segment_bytes = 4 << 10;
  Open(Env::Default());
  int written = 0;
  while (engine_->Stats().namespaces.empty() ||
         engine_->Stats().namespaces[0].sealed_segments == 0) {
    ASSERT_TRUE(engine_->Put(0, Key(written), ValueOf(written, 300), {}).ok());
    ASSERT_TRUE(CommitAndWait().ok());
    ++written;
    ASSERT_LT(written, 100);
  }
  const std::string next =
      absl::StrCat(dir_.path(), "/", NamespaceDirName(0), "/", SegmentFileName(NextLogSequence(1)));
  EXPECT_EQ(testing::FileSize(next), kSegmentHeaderSize);  // created, not yet written
  Open(Env::Default());
  EXPECT_EQ(engine_->Stats().namespaces[0].sealed_segments, 1u);
  for (int i = 0; i < written; ++i) ASSERT_EQ(Value(0, Key(i)), ValueOf(i, 300)) << i;
  ASSERT_TRUE(engine_->Put(0, "after", "reopen", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  EXPECT_GT(testing::FileSize(next), kSegmentHeaderSize);  // appended to
  EXPECT_EQ(engine_->Stats().namespaces[0].sealed_segments, 1u);
}

TEST_F(EngineIoTest, ReadAheadServesColdReadsFromTheRing) {
  options_.memory_bytes = 64 << 10;  // far smaller than the data: most reads go to the log
  constexpr int kKeys = 200;
  constexpr size_t kValueBytes = 2000;
  Open(Env::Default());
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(engine_->Put(0, Key(i), ValueOf(i, kValueBytes), {}).ok());
  PutOptions with_meta;
  with_meta.metadata = "{\"m\":1}";
  ASSERT_TRUE(engine_->Put(0, "meta", "v", with_meta).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  Open(Env::Default());  // cold cache

  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back(Key(i));
  // ReadAheadKey::key is a view: the keys must outlive ReadAhead (ASan caught views of
  // temporaries here).
  const std::string key5 = Key(5), key150 = Key(150);
  std::vector<ReadAheadKey> wanted;
  for (const std::string& k : keys) wanted.push_back({0, k, true});
  wanted.push_back({0, key5, true});        // twice: read once
  wanted.push_back({0, "absent", true});    // no such key: no read
  wanted.push_back({0, "meta", false});     // metadata only: read (the key has metadata)
  wanted.push_back({0, key150, false});     // neither value nor metadata: no read
  const uint64_t reads_before = ring_->completed_requests();
  bool done = false;
  engine_->ReadAhead(wanted, [&] { done = true; });
  EXPECT_FALSE(done);
  RunRingUntil([&] { return done; });
  EXPECT_EQ(ring_->completed_requests() - reads_before, 101u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Value(0, Key(i)), ValueOf(i, kValueBytes)) << i;
  absl::StatusOr<Entry> meta = engine_->Get(0, "meta", ReadOptions{false});
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->metadata, "{\"m\":1}");
  // Reads from the read-ahead buffer count as cache misses, as reads from the log do.
  EXPECT_EQ(engine_->Stats().cache_misses, 100u);
  engine_->DropReadAhead();

  // Values now in the cache are not read again.
  const uint64_t reads_mid = ring_->completed_requests();
  done = false;
  std::vector<ReadAheadKey> again(wanted.begin(), wanted.begin() + 100);
  engine_->ReadAhead(again, [&] { done = true; });
  RunRingUntil([&] { return done; });
  const uint64_t reread = ring_->completed_requests() - reads_mid;
  EXPECT_LT(reread, 100u);
  EXPECT_GT(reread, 50u);  // 64 KiB holds about 30 of these values
  engine_->DropReadAhead();
  // Without read-ahead the same reads still work (blocking).
  for (int i = 100; i < kKeys; ++i) ASSERT_EQ(Value(0, Key(i)), ValueOf(i, kValueBytes)) << i;
}

// The read-ahead memo (log_engine.h): the batch's Get() and MultiGet() take the read-ahead's
// lookups, but every mutation made after it (the batch's own writes, expiry) must show.
TEST_F(EngineIoTest, ReadsAfterAReadAheadSeeTheBatchsOwnMutations) {
  Open(Env::Default());
  for (const char* k : {"replaced", "deleted", "kept", "expiring"}) {
    ASSERT_TRUE(engine_->Put(0, k, std::string(k) + "-v1", {}).ok());
  }
  PutOptions ttl;
  ttl.expire_at_ms = kStartUs / 1000 + 1000;
  ASSERT_TRUE(engine_->Put(0, "expiring", "expiring-v1", ttl).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  for (const char* k : {"replaced", "deleted", "kept", "expiring"}) ASSERT_NE(Value(0, k), "");

  // The keys as a batch's ops hold them: each apply call passes the very string listed.
  const std::vector<std::string> keys = {"replaced", "deleted", "kept", "created",
                                         "expiring", "kept",    "created", "replaced"};
  std::vector<ReadAheadKey> wanted;
  for (const std::string& k : keys) wanted.push_back({0, k, true});
  bool done = false;
  engine_->ReadAhead(wanted, [&] { done = true; });
  RunRingUntil([&] { return done; });
  const uint64_t hits_before = engine_->Stats().cache_hits;

  ASSERT_TRUE(engine_->Put(0, keys[0], "replaced-v2", {}).ok());  // replaced in place
  EXPECT_EQ(Value(0, keys[0]), "replaced-v2");
  ASSERT_TRUE(engine_->Delete(0, keys[1], {}).ok());
  EXPECT_EQ(Value(0, keys[1]), "<NotFound>");
  EXPECT_EQ(Value(0, keys[2]), "kept-v1");
  ASSERT_TRUE(engine_->Put(0, keys[3], "created-v1", {}).ok());  // absent at read-ahead
  EXPECT_EQ(Value(0, keys[3]), "created-v1");
  g_now_us += 2'000'000;  // past "expiring"'s expiry
  EXPECT_EQ(Value(0, keys[4]), "<NotFound>");
  std::map<size_t, std::string> got;
  ASSERT_TRUE(engine_->MultiGet(0, 3, [&](size_t i) -> std::string_view { return keys[5 + i]; },
                                [&](size_t i, std::string_view v) { got[i] = v; })
                  .ok());
  EXPECT_EQ(got, (std::map<size_t, std::string>{
                     {0, "kept-v1"}, {1, "created-v1"}, {2, "replaced-v2"}}));
  EXPECT_EQ(engine_->Stats().cache_hits - hits_before, 6u);  // every value was cached
  // Out of the listed order (and a copy of a listed key): answered by lookups all the same.
  const std::string copy = keys[2];
  EXPECT_EQ(Value(0, copy), "kept-v1");
  EXPECT_EQ(Value(0, keys[0]), "replaced-v2");
  engine_->DropReadAhead();
  EXPECT_EQ(Value(0, keys[2]), "kept-v1");
}

// Writes take the read-ahead's lookups of write-only keys too (Put replaces the entry found
// in place, with the hashes taken then), but every mutation made after the read-ahead (a
// delete, an insert, a flush that replaces the index, expiry) must still show, in the index
// and through reopening (recovery).
TEST_F(EngineIoTest, WritesAfterAReadAheadTakeItsLookupsAndSeeTheBatchsOwnMutations) {
  Open(Env::Default());
  for (const char* k : {"overwritten", "deleted", "expiring", "flushed"}) {
    ASSERT_TRUE(engine_->Put(0, k, std::string(k) + "-v1", {}).ok());
  }
  ASSERT_TRUE(engine_->Put(1, "other", "other-v1", {}).ok());
  PutOptions ttl;
  ttl.expire_at_ms = kStartUs / 1000 + 1000;
  ASSERT_TRUE(engine_->Put(0, "expiring", "expiring-v1", ttl).ok());
  ASSERT_TRUE(CommitAndWait().ok());

  const std::vector<std::string> keys = {"overwritten", "expiring", "deleted", "deleted",
                                         "created",     "created",  "other"};
  std::vector<ReadAheadKey> wanted;
  for (size_t i = 0; i < keys.size(); ++i) {
    wanted.push_back({i + 1 == keys.size() ? 1u : 0u, keys[i], false, /*write_only=*/true});
  }
  bool done = false;
  engine_->ReadAhead(wanted, [&] { done = true; });
  RunRingUntil([&] { return done; });
  const uint64_t keys_before = *engine_->KeyCount(0);

  ASSERT_TRUE(engine_->Put(0, keys[0], "overwritten-v2", {}).ok());  // in place
  // Expired by now: the Put's own lookup expires it, freeing the entries the read-ahead
  // found for it (its index node and its cached value: ASan and DCHECKs watch).
  g_now_us += 2'000'000;
  PutOptions if_absent;
  if_absent.condition = PutOptions::Condition::kIfAbsent;
  absl::StatusOr<PutResult> put = engine_->Put(0, keys[1], "expiring-v2", if_absent);
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(put->written);
  ASSERT_TRUE(engine_->Delete(0, "deleted", {}).ok());
  put = engine_->Put(0, keys[2], "deleted-v2", if_absent);
  ASSERT_TRUE(put.ok());
  EXPECT_TRUE(put->written) << "the memo still holds the deleted key's entry";
  ASSERT_TRUE(engine_->Put(0, keys[3], "deleted-v3", {}).ok());
  ASSERT_TRUE(engine_->Put(0, keys[4], "created-v1", {}).ok());  // absent at read-ahead
  put = engine_->Put(0, keys[5], "created-v2", if_absent);
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(put->written) << "the memo says absent, the index has it now";
  ASSERT_TRUE(engine_->Flush(1).ok());  // namespace 1's index is replaced
  ASSERT_TRUE(engine_->Put(1, keys[6], "other-v2", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  engine_->DropReadAhead();

  const auto check = [&] {
    EXPECT_EQ(Value(0, "overwritten"), "overwritten-v2");
    EXPECT_EQ(Value(0, "deleted"), "deleted-v3");
    EXPECT_EQ(Value(0, "created"), "created-v1");
    EXPECT_EQ(Value(0, "expiring"), "expiring-v2");
    EXPECT_EQ(Value(0, "flushed"), "flushed-v1");
    EXPECT_EQ(Value(1, "other"), "other-v2");
    EXPECT_EQ(*engine_->KeyCount(0), keys_before + 1);  // "created"
    EXPECT_EQ(*engine_->KeyCount(1), 1u);
  };
  check();
  Open(Env::Default());  // what recovery finds in the log agrees
  check();
}

TEST_F(EngineIoTest, MultiGetAfterAReadAheadServesCachedAndColdValues) {
  options_.memory_bytes = 64 << 10;  // holds about 30 of the values below
  constexpr int kKeys = 200;
  constexpr size_t kValueBytes = 2000;
  Open(Env::Default());
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(engine_->Put(0, Key(i), ValueOf(i, kValueBytes), {}).ok());
  }
  ASSERT_TRUE(CommitAndWait().ok());
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back(Key(i));
  keys.push_back("absent");
  // Twice over: the first batch reads from the log and fills the cache (evicting as it goes),
  // the second finds some values cached.
  for (int round = 0; round < 2; ++round) {
    std::vector<ReadAheadKey> wanted;
    for (const std::string& k : keys) wanted.push_back({0, k, true});
    bool done = false;
    engine_->ReadAhead(wanted, [&] { done = true; });
    RunRingUntil([&] { return done; });
    std::vector<std::string> got(keys.size(), "<NotFound>");
    ASSERT_TRUE(engine_->MultiGet(0, keys.size(),
                                  [&](size_t i) -> std::string_view { return keys[i]; },
                                  [&](size_t i, std::string_view v) { got[i] = v; })
                    .ok());
    engine_->DropReadAhead();
    for (int i = 0; i < kKeys; ++i) ASSERT_EQ(got[i], ValueOf(i, kValueBytes)) << round << " " << i;
    EXPECT_EQ(got[kKeys], "<NotFound>");
  }
}

TEST_F(EngineIoTest, ReadAheadOfADamagedRecordReportsDataLoss) {
  options_.memory_bytes = 0;  // nothing cached: the read must go to the file
  Open(Env::Default());
  ASSERT_TRUE(engine_->Put(0, "k", std::string(5000, 'x'), {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  // Damage the value on disk under the open engine (a bit flip the index cannot know of).
  const std::string path =
      dir_.path() + "/" + NamespaceDirName(0) + "/" + SegmentFileName(1);
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "y", 1, static_cast<off_t>(testing::FileSize(path) - 100)), 1);
  ::close(fd);
  bool done = false;
  engine_->ReadAhead({{0, "k", true}}, [&] { done = true; });
  RunRingUntil([&] { return done; });
  absl::StatusOr<Entry> e = engine_->Get(0, "k");
  EXPECT_TRUE(absl::IsDataLoss(e.status())) << e.status();
  engine_->DropReadAhead();
  EXPECT_EQ(engine_->Stats().corrupt_records, 1u);
}

TEST_F(EngineIoTest, EverySecFdatasyncGoesThroughTheRing) {
  options_.fsync = FsyncPolicy::kEverySec;
  Open(Env::Default());
  ASSERT_TRUE(engine_->Put(0, "k", "v", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  g_now_us += 2'000'000;
  const uint64_t sqes_before = ring_->submitted_sqes();
  ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_TRUE(engine_->io_pending());  // submitted, not waited for
  RunRingUntil([&] { return !engine_->io_pending(); });
  EXPECT_EQ(ring_->submitted_sqes() - sqes_before, 1u);
  // Nothing dirty: the next period syncs nothing.
  g_now_us += 2'000'000;
  ASSERT_TRUE(engine_->RunBackgroundWork().ok());
  EXPECT_FALSE(engine_->io_pending());
}

TEST_F(EngineIoTest, FailedAsyncCommitRollsTheBatchBack) {
  // The fault-injection Env's files have no descriptor: CommitAsync does the blocking calls
  // and reports through the same completion path.
  testing::FaultInjectionEnv env;
  options_.fsync = FsyncPolicy::kAlways;
  Open(&env);
  ASSERT_TRUE(engine_->Put(0, "kept", "1", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  ASSERT_TRUE(engine_->Put(0, "lost", "2", {}).ok());
  ASSERT_TRUE(engine_->Put(0, "kept", "changed", {}).ok());
  env.fail_writes = true;
  absl::Status s = CommitAndWait();
  env.fail_writes = false;
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Value(0, "lost"), "<NotFound>");
  EXPECT_EQ(Value(0, "kept"), "1");
  ASSERT_TRUE(engine_->Put(0, "after", "3", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  Open(&env);
  EXPECT_EQ(Value(0, "kept"), "1");
  EXPECT_EQ(Value(0, "lost"), "<NotFound>");
  EXPECT_EQ(Value(0, "after"), "3");
}

TEST_F(EngineIoTest, HintFilesAndReclaimRunThroughTheRingUnderLoad) {
  options_.segment_bytes = 256 << 10;  // many sealed segments
  options_.memory_bytes = 64 << 10;
  options_.reclaim_sealed_threshold = 0;  // on request only
  Open(Env::Default());
  std::map<std::string, std::string> model;
  int version = 0;
  auto write = [&](int first, int count, size_t size) {
    for (int i = first; i < first + count; ++i) {
      std::string v = absl::StrCat(ValueOf(i, size), "/", version);
      ASSERT_TRUE(engine_->Put(0, Key(i), v, {}).ok());
      model[Key(i)] = std::move(v);
    }
    ASSERT_TRUE(CommitAndWait().ok());
  };
  // A value larger than a window (SegmentWindow::kMinBytes), so scans must widen it.
  const std::string big(SegmentWindow::kMinBytes + (1 << 20), 'B');
  ASSERT_TRUE(engine_->Put(0, "big", big, {}).ok());
  model["big"] = big;
  ASSERT_TRUE(CommitAndWait().ok());
  for (version = 0; version < 3; ++version) {
    for (int first = 0; first < 2000; first += 100) write(first, 100, 700);
  }
  // Background work until every sealed segment has its hint file.
  const uint64_t sqes_before = ring_->submitted_sqes();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  auto background = [&] {
    ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    ring_->Run(absl::Milliseconds(1));
  };
  while ((engine_->background_pending() || engine_->io_pending()) && absl::Now() < deadline) {
    background();
  }
  // Reclaim on request, with batches of writes between its steps.
  engine_->RequestReclaim();
  int rounds = 0;
  do {
    background();
    if (++rounds % 5 == 0) write((rounds * 37) % 1900, 20, 300);
  } while ((engine_->background_pending() || engine_->io_pending()) && absl::Now() < deadline);
  ASSERT_LT(absl::Now(), deadline) << "background work did not finish";
  EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.reclaim_runs, 1u);
  EXPECT_GT(ring_->submitted_sqes() - sqes_before, 100u);  // reads, writes, syncs
  for (const auto& [key, value] : model) ASSERT_EQ(Value(0, key), value) << key;
  ASSERT_EQ(stats.namespaces.size(), 1u);
  EXPECT_LE(stats.namespaces[0].log_bytes, stats.namespaces[0].live_bytes * 3 / 2 + (512 << 10));

  // Hints of the reclaim's outputs too, then a reopen recovers from them.
  while ((engine_->background_pending() || engine_->io_pending()) && absl::Now() < deadline + absl::Seconds(30)) {
    background();
  }
  Open(Env::Default(), /*with_ring=*/false);
  EXPECT_GT(engine_->recovery_stats().hint_files, 0u);
  for (const auto& [key, value] : model) ASSERT_EQ(Value(0, key), value) << key;
}

// EXPIRE of keys whose records reclaim is copying, between its steps (its output writes in
// flight on the ring): the keys keep their values and their new expiry, before and after a
// reopen, and nothing points into an unlinked input. (Found by the HTTP test of
// compact-then-PATCH: the switch of such a key was skipped and its entry left pointing into
// a deleted input: "index names segment N, which is not open".)
TEST_F(EngineIoTest, ExpiryChangedWhileReclaimCopiesAKeyIsKept) {
  options_.segment_bytes = 64 << 10;
  options_.reclaim_sealed_threshold = 0;  // on request only
  Open(Env::Default());
  constexpr int kKeys = 600;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(engine_->Put(0, Key(i), ValueOf(i, 400), {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  auto background = [&] {
    ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    ring_->Run(absl::Milliseconds(1));
  };
  while ((engine_->background_pending() || engine_->io_pending()) && absl::Now() < deadline) {
    background();
  }
  const int64_t base = absl::ToUnixMillis(absl::Now()) + 3'600'000;
  std::map<std::string, int64_t> expiry;
  engine_->RequestReclaim();
  int round = 0;
  do {
    // A step submits the reclaim's output write; the expiries below are applied before it
    // completes (CommitAndWait reaps both).
    ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    // Every key gets a new expiry at some step, many while their copy is in flight.
    for (int i = round % 7; i < kKeys; i += 7) {
      ASSERT_TRUE(engine_->SetExpiry(0, Key(i), base + round).ok());
      expiry[Key(i)] = base + round;
    }
    ASSERT_TRUE(CommitAndWait().ok());
    ++round;
  } while ((engine_->background_pending() || engine_->io_pending()) && absl::Now() < deadline);
  ASSERT_LT(absl::Now(), deadline);
  ASSERT_EQ(engine_->Stats().reclaim_runs, 1u);
  auto check = [&] {
    for (int i = 0; i < kKeys; ++i) {
      absl::StatusOr<Entry> entry = engine_->Get(0, Key(i));
      ASSERT_TRUE(entry.ok()) << Key(i) << ": " << entry.status();
      EXPECT_EQ(entry->value, ValueOf(i, 400));
      if (expiry.count(Key(i))) EXPECT_EQ(entry->expire_at_ms, expiry[Key(i)]) << Key(i);
    }
  };
  check();
  Open(Env::Default(), /*with_ring=*/false);
  check();
}

TEST_F(EngineIoTest, FailedRingWriteRollsTheBatchBackAndTheEngineGoesOn) {
  // A real write failure through the ring: RLIMIT_FSIZE makes a write past the limit fail
  // with EFBIG (SIGXFSZ ignored), as a full disk would with ENOSPC.
  options_.fsync = FsyncPolicy::kAlways;
  Open(Env::Default());
  ASSERT_TRUE(engine_->Put(0, "kept", "1", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  const std::string path = dir_.path() + "/" + NamespaceDirName(0) + "/" + SegmentFileName(1);
  const uint64_t size = testing::FileSize(path);
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = size + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  ASSERT_TRUE(engine_->Put(0, "lost", std::string(10'000, 'x'), {}).ok());
  ASSERT_TRUE(engine_->Put(0, "kept", "changed", {}).ok());
  absl::Status s = CommitAndWait();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Value(0, "lost"), "<NotFound>");
  EXPECT_EQ(Value(0, "kept"), "1");
  EXPECT_EQ(testing::FileSize(path), size);  // the partial write was cut off
  // The namespace still takes writes (a failed write is not a failed fdatasync).
  ASSERT_TRUE(engine_->Put(0, "after", "3", {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  Open(Env::Default(), /*with_ring=*/false);
  EXPECT_EQ(Value(0, "kept"), "1");
  EXPECT_EQ(Value(0, "lost"), "<NotFound>");
  EXPECT_EQ(Value(0, "after"), "3");
}

TEST_F(EngineIoTest, ReplayInSlicesIsGapFreeWhileWritesGoOnAndHoldsReclaimBack) {
  options_.segment_bytes = 32 << 10;  // the replay crosses many segments, sealed under it
  options_.reclaim_sealed_threshold = 0;
  Open(Env::Default());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(engine_->Put(0, Key(i), ValueOf(i, 500), {}).ok());
  ASSERT_TRUE(CommitAndWait().ok());
  const uint64_t since = engine_->Watermark();
  std::vector<uint64_t> expected;
  auto write = [&](int i) {
    absl::StatusOr<PutResult> put = engine_->Put(0, Key(i % 50), ValueOf(i, 500), {});
    ASSERT_TRUE(put.ok());
    expected.push_back(put->revision);
    ASSERT_TRUE(CommitAndWait().ok());
  };
  for (int i = 0; i < 400; ++i) write(i);
  absl::StatusOr<ReplayCursor> cursor = engine_->StartReplay(0, since);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  engine_->RequestReclaim();
  std::vector<uint64_t> seen;
  int steps = 0;
  bool done = false;
  while (!done) {
    absl::StatusOr<bool> step = engine_->ReplayStep(
        &*cursor, absl::Microseconds(1), [&](const Change& c) { seen.push_back(c.revision); });
    ASSERT_TRUE(step.ok()) << step.status();
    done = *step;
    ++steps;
    if (!done && steps % 3 == 0) {
      write(1000 + steps);  // writes between slices are replayed too
      ASSERT_TRUE(engine_->RunBackgroundWork().ok());
      EXPECT_EQ(engine_->Stats().reclaim_runs, 0u);  // held back while the replay is open
    }
  }
  engine_->EndReplay(*cursor);
  EXPECT_GT(steps, 3);
  EXPECT_EQ(seen, expected);  // every change after `since`, once, in order
  // Once the replay is closed, the reclaim goes ahead.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (engine_->Stats().reclaim_runs == 0 && absl::Now() < deadline) {
    ASSERT_TRUE(engine_->RunBackgroundWork().ok());
    ring_->Run(absl::Milliseconds(1));
  }
  EXPECT_EQ(engine_->Stats().reclaim_runs, 1u);
}

// ---- Power loss ----------------------------------------------------------------------------

class PowerLossTest : public EngineIoTest {
 protected:
  // Writes key i in its own acknowledged batch, 100 ms of clock apart, running background
  // work (the everysec fdatasync) between batches; then the power fails: nothing more
  // reaches the disk, and whatever was not fdatasynced is gone. Returns how many writes were
  // acknowledged and, in *synced_before, how many had been acknowledged at the last
  // fdatasync the engine made.
  int WriteThenLosePower(FsyncPolicy policy, int count, int* synced_before) {
    options_.fsync = policy;
    Open(&env_);
    *synced_before = 0;
    int acked = 0;
    for (int i = 0; i < count; ++i) {
      EXPECT_TRUE(engine_->Put(i % 2, Key(i), ValueOf(i, 200), {}).ok());
      if (!CommitAndWait().ok()) break;
      ++acked;
      g_now_us += 100'000;
      const uint64_t syncs_before = SyncCount();
      EXPECT_TRUE(engine_->RunBackgroundWork().ok());
      if (SyncCount() != syncs_before) *synced_before = acked;
    }
    env_.crash_after_ops = 0;  // the machine is gone: the close below reaches nothing
    engine_.reset();
    env_.DropUnsyncedData();
    return acked;
  }

  // fdatasyncs the engine made so far.
  uint64_t SyncCount() { return env_.data_syncs; }

  // After the reopen: keys [0, n) present with their values, and no key after a missing one
  // (what survives is a prefix of the acknowledged writes).
  int SurvivingPrefix(int acked) {
    Open(&env_, /*with_ring=*/false);
    int present = 0;
    bool gap = false;
    for (int i = 0; i < acked; ++i) {
      const std::string v = Value(i % 2, Key(i));
      if (v == "<NotFound>") {
        gap = true;
        continue;
      }
      EXPECT_FALSE(gap) << "key " << i << " survived although an earlier write was lost";
      EXPECT_EQ(v, ValueOf(i, 200)) << i;
      ++present;
    }
    return present;
  }

  testing::FaultInjectionEnv env_;
};

TEST_F(PowerLossTest, AlwaysKeepsEveryAcknowledgedWrite) {
  int synced_before = 0;
  const int acked = WriteThenLosePower(FsyncPolicy::kAlways, 60, &synced_before);
  ASSERT_EQ(acked, 60);
  EXPECT_EQ(SurvivingPrefix(acked), acked);
}

TEST_F(PowerLossTest, EverySecLosesAtMostTheLastSecond) {
  int synced_before = 0;
  const int acked = WriteThenLosePower(FsyncPolicy::kEverySec, 55, &synced_before);
  ASSERT_EQ(acked, 55);
  // 100 ms per write: a sync about every 10 writes; the last one at write 50.
  EXPECT_GE(synced_before, 45);
  const int present = SurvivingPrefix(acked);
  EXPECT_GE(present, synced_before);
  EXPECT_LE(acked - present, 11);  // ~1 s of writes at most
}

TEST_F(PowerLossTest, NeverMayLoseWritesButKeepsAConsistentPrefix) {
  int synced_before = 0;
  const int acked = WriteThenLosePower(FsyncPolicy::kNever, 40, &synced_before);
  ASSERT_EQ(acked, 40);
  const int present = SurvivingPrefix(acked);
  EXPECT_LE(present, acked);
}

}  // namespace
}  // namespace beyondkv::engine
