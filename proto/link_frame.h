// The shard link's framing (architecture §3; the format with an example is in
// proto/LINK.md). The link is a stream socket (AF_UNIX) between one gateway I/O thread (a
// "lane") and one shard's engine thread. Both directions carry frames:
//
//   frame   := header payload
//   header  := payload_len:u32 type:u8 reserved:u8[3] seq:u64       (16 bytes, little endian)
//   payload := payload_len bytes: a protobuf message of proto/shard.proto chosen by type
//
//   type 1 HELLO    gateway -> shard, first frame, LinkHello,   seq 0
//   type 2 WELCOME  shard -> gateway, answers HELLO, LinkWelcome, seq 0
//   type 3 BATCH    gateway -> shard, BatchRequest,  seq = 1, 2, 3, ... per lane
//   type 4 RESULT   shard -> gateway, BatchResponse, seq = the BATCH's it answers
//
// The shard answers a lane's batches in the order it received them (FIFO), so the gateway
// checks each RESULT's seq against its oldest batch in flight: a mismatch is a protocol error
// that ends the link. Any malformed frame (unknown type, payload above kMaxFramePayload,
// unparsable payload) ends the link too; nothing is resent by either side.
//
// Thread contract: these are pure functions over buffers; FrameReader is not thread-safe.
#ifndef BEYONDKV_PROTO_LINK_FRAME_H_
#define BEYONDKV_PROTO_LINK_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"

namespace beyondkv::link {

// Version 1: the frame layout above. A shard refuses a HELLO with another version.
constexpr uint32_t kProtocolVersion = 1;

constexpr size_t kHeaderBytes = 16;
// Largest payload either side accepts (1 GiB): above --max-value-bytes (64 MiB by default,
// at most 512 MiB as a RESP bulk) plus headroom. The gateway closes batches at 16 MiB at a
// command boundary, so only a single huge command comes near it; it is refused before it is
// sent rather than breaking the link.
constexpr uint32_t kMaxFramePayload = 1u << 30;

enum class FrameType : uint8_t {
  kHello = 1,
  kWelcome = 2,
  kBatch = 3,
  kResult = 4,
};

struct FrameHeader {
  uint32_t payload_len = 0;
  FrameType type = FrameType::kBatch;
  uint64_t seq = 0;
};

// Appends one frame holding `message` (serialized in place, no intermediate copy) to `out`.
// Returns InvalidArgument, appending nothing, when the message exceeds kMaxFramePayload.
absl::Status AppendFrame(FrameType type, uint64_t seq,
                         const google::protobuf::MessageLite& message, std::string* out);

// Decodes a header from the first kHeaderBytes of `bytes` (which must hold them). Returns
// DataLoss for an unknown type or an oversized payload: the link must be closed.
absl::Status DecodeHeader(std::string_view bytes, FrameHeader* header);

// Splits a byte stream into frames. Feed it what the socket gave, then take complete frames
// one by one; a frame's payload view stays valid until the next Append() or Consume().
class FrameReader {
 public:
  // Appends received bytes (a copy; tests and small inputs).
  void Append(const char* data, size_t n);

  // A writable tail of at least `n` bytes to read(2) into; then Commit() the count read.
  char* PrepareWrite(size_t n);
  void Commit(size_t n) { end_ += n; }

  // Whether a complete frame is buffered. On a malformed header returns the error (DataLoss).
  // On true, *header and *payload describe the frame; Consume() drops it.
  absl::Status Next(bool* complete, FrameHeader* header, std::string_view* payload);
  // Once every buffered byte is consumed, storage above kRetainedBufferBytes is released.
  void Consume();
  static constexpr size_t kRetainedBufferBytes = 1 << 20;
  // Bytes of storage held (buffered or not): what the reader costs in memory.
  size_t storage_bytes() const { return buffer_.size(); }

  // Bytes buffered and not consumed.
  size_t buffered() const { return end_ - offset_; }
  // After Next() found an incomplete frame: how many more bytes it needs; 0 after any other
  // Next() (complete frame, or not even a header buffered).
  size_t want() const { return want_; }

 private:
  std::string buffer_;      // storage; bytes [offset_, end_) are unconsumed input
  size_t offset_ = 0;
  size_t end_ = 0;
  size_t frame_bytes_ = 0;  // size of the frame Next() returned, for Consume()
  size_t want_ = 0;
};

}  // namespace beyondkv::link

#endif  // BEYONDKV_PROTO_LINK_FRAME_H_
