#include "proto/link_frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "proto/shard.pb.h"

namespace beyondkv::link {
namespace {

v1::BatchRequest Batch(int ops) {
  v1::BatchRequest batch;
  for (int i = 0; i < ops; ++i) {
    v1::Op* op = batch.add_ops();
    op->set_type(v1::Op::PUT);
    op->set_key("key:" + std::to_string(i));
    op->set_value(std::string(100, 'v'));
  }
  return batch;
}

TEST(LinkFrameTest, HeaderBytesArePinned) {
  v1::LinkHello hello;
  hello.set_version(1);
  std::string out;
  ASSERT_TRUE(AppendFrame(FrameType::kHello, 0x0102030405060708ull, hello, &out).ok());
  ASSERT_EQ(out.size(), kHeaderBytes + 2);  // field 1 varint: 08 01
  EXPECT_EQ(out.substr(0, kHeaderBytes),
            std::string("\x02\x00\x00\x00\x01\x00\x00\x00\x08\x07\x06\x05\x04\x03\x02\x01", 16));
  EXPECT_EQ(out.substr(kHeaderBytes), std::string("\x08\x01", 2));
}

TEST(LinkFrameTest, ReaderReassemblesFramesSplitAnywhere) {
  std::string stream;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE(AppendFrame(FrameType::kBatch, seq, Batch(static_cast<int>(seq)), &stream).ok());
  }
  for (size_t step : {1u, 7u, 16u, 100u, 4096u}) {
    FrameReader reader;
    uint64_t expected_seq = 1;
    for (size_t pos = 0; pos < stream.size(); pos += step) {
      const size_t n = std::min(step, stream.size() - pos);
      std::memcpy(reader.PrepareWrite(n), stream.data() + pos, n);
      reader.Commit(n);
      while (true) {
        bool complete = false;
        FrameHeader header;
        std::string_view payload;
        ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok());
        if (!complete) break;
        EXPECT_EQ(header.type, FrameType::kBatch);
        EXPECT_EQ(header.seq, expected_seq);
        v1::BatchRequest batch;
        ASSERT_TRUE(batch.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
        EXPECT_EQ(batch.ops_size(), static_cast<int>(expected_seq));
        ++expected_seq;
        reader.Consume();
      }
    }
    EXPECT_EQ(expected_seq, 6u) << "step " << step;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(LinkFrameTest, MalformedHeadersAreDataLoss) {
  FrameReader reader;
  std::string bad(kHeaderBytes, '\0');
  bad[4] = 9;  // unknown type
  reader.Append(bad.data(), bad.size());
  bool complete = false;
  FrameHeader header;
  std::string_view payload;
  EXPECT_EQ(reader.Next(&complete, &header, &payload).code(), absl::StatusCode::kDataLoss);

  FrameReader huge;
  std::string big(kHeaderBytes, '\0');
  big[3] = static_cast<char>(0x7f);  // payload of ~2 GiB
  big[4] = static_cast<char>(FrameType::kBatch);
  huge.Append(big.data(), big.size());
  EXPECT_EQ(huge.Next(&complete, &header, &payload).code(), absl::StatusCode::kDataLoss);
}

TEST(LinkFrameTest, IncompleteFrameSaysHowMuchIsMissing) {
  std::string frame;
  ASSERT_TRUE(AppendFrame(FrameType::kResult, 3, Batch(10), &frame).ok());
  FrameReader reader;
  reader.Append(frame.data(), 20);
  bool complete = true;
  FrameHeader header;
  std::string_view payload;
  ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok());
  EXPECT_FALSE(complete);
  EXPECT_EQ(reader.want(), frame.size() - 20);
}

TEST(LinkFrameTest, ReaderReleasesTheStorageOfALargeFrameOnceDrained) {
  std::string small;
  ASSERT_TRUE(AppendFrame(FrameType::kResult, 1, Batch(10), &small).ok());
  std::string large;
  ASSERT_TRUE(AppendFrame(FrameType::kResult, 2, Batch(40000), &large).ok());
  ASSERT_GT(large.size(), FrameReader::kRetainedBufferBytes);
  FrameReader reader;
  bool complete = false;
  FrameHeader header;
  std::string_view payload;
  reader.Append(small.data(), small.size());
  ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok() && complete);
  reader.Consume();
  const size_t small_storage = reader.storage_bytes();
  EXPECT_GT(small_storage, 0u);  // small buffers are kept for reuse
  reader.Append(large.data(), large.size());
  EXPECT_GE(reader.storage_bytes(), large.size());
  ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok() && complete);
  EXPECT_EQ(header.seq, 2u);
  reader.Consume();
  EXPECT_EQ(reader.storage_bytes(), 0u);
  reader.Append(small.data(), small.size());  // and it works on
  ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok() && complete);
  EXPECT_EQ(header.seq, 1u);
}

// The read loops (link_lane.cc, link_server.cc) read max(chunk, want()) bytes at a time. Once
// a large frame is complete, want() must fall back to 0: a stale want() made every later read
// of a small frame grow the buffer to the large frame's size again (and Consume() release it),
// a multi-MiB allocation and zero-fill per request after one EXISTS of a million keys.
TEST(LinkFrameTest, WantFallsBackToZeroOnceTheLargeFrameIsComplete) {
  constexpr size_t kChunk = 64 << 10;
  std::string large;
  ASSERT_TRUE(AppendFrame(FrameType::kBatch, 1, Batch(40000), &large).ok());
  ASSERT_GT(large.size(), FrameReader::kRetainedBufferBytes);
  std::string small;
  ASSERT_TRUE(AppendFrame(FrameType::kBatch, 2, Batch(10), &small).ok());
  FrameReader reader;
  bool complete = false;
  FrameHeader header;
  std::string_view payload;
  // The large frame arrives in chunks, as read(2) would give it.
  size_t sent = 0;
  while (true) {
    const size_t n = std::min(std::max(kChunk, reader.want()), large.size() - sent);
    std::memcpy(reader.PrepareWrite(n), large.data() + sent, n);
    reader.Commit(n);
    sent += n;
    ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok());
    if (complete) break;
    EXPECT_GT(reader.want(), 0u);
  }
  EXPECT_EQ(reader.want(), 0u);
  reader.Consume();
  EXPECT_EQ(reader.storage_bytes(), 0u);
  for (int i = 0; i < 3; ++i) {
    const size_t n = std::max(kChunk, reader.want());
    EXPECT_EQ(n, kChunk);
    std::memcpy(reader.PrepareWrite(n), small.data(), small.size());
    reader.Commit(small.size());
    ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok() && complete);
    EXPECT_EQ(header.seq, 2u);
    reader.Consume();
    EXPECT_LE(reader.storage_bytes(), FrameReader::kRetainedBufferBytes);
    EXPECT_EQ(reader.want(), 0u);
  }
  // Nothing buffered at all: nothing wanted.
  ASSERT_TRUE(reader.Next(&complete, &header, &payload).ok());
  EXPECT_FALSE(complete);
  EXPECT_EQ(reader.want(), 0u);
}

}  // namespace
}  // namespace beyondkv::link
