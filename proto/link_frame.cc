#include "proto/link_frame.h"

#include <algorithm>
#include <cstring>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"

namespace beyondkv::link {
namespace {

void PutU32(char* p, uint32_t v) { absl::little_endian::Store32(p, v); }
void PutU64(char* p, uint64_t v) { absl::little_endian::Store64(p, v); }

}  // namespace

absl::Status AppendFrame(FrameType type, uint64_t seq,
                         const google::protobuf::MessageLite& message, std::string* out) {
  const size_t size = message.ByteSizeLong();
  if (size > kMaxFramePayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", size, " bytes exceeds the shard link's frame limit of ",
                     kMaxFramePayload, " bytes"));
  }
  const size_t start = out->size();
  out->resize(start + kHeaderBytes + size);
  char* p = out->data() + start;
  PutU32(p, static_cast<uint32_t>(size));
  p[4] = static_cast<char>(type);
  p[5] = p[6] = p[7] = 0;
  PutU64(p + 8, seq);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p + kHeaderBytes));
  return absl::OkStatus();
}

absl::Status DecodeHeader(std::string_view bytes, FrameHeader* header) {
  const char* p = bytes.data();
  header->payload_len = absl::little_endian::Load32(p);
  const uint8_t type = static_cast<uint8_t>(p[4]);
  header->seq = absl::little_endian::Load64(p + 8);
  if (type < static_cast<uint8_t>(FrameType::kHello) ||
      type > static_cast<uint8_t>(FrameType::kResult)) {
    return absl::DataLossError(absl::StrCat("shard link: unknown frame type ", type));
  }
  header->type = static_cast<FrameType>(type);
  if (header->payload_len > kMaxFramePayload) {
    return absl::DataLossError(absl::StrCat("shard link: frame payload of ",
                                            header->payload_len, " bytes exceeds the limit"));
  }
  return absl::OkStatus();
}

void FrameReader::Append(const char* data, size_t n) {
  std::memcpy(PrepareWrite(n), data, n);
  Commit(n);
}

char* FrameReader::PrepareWrite(size_t n) {
  // Move the unconsumed bytes to the front once the consumed ones are the larger part, so
  // the buffer does not creep; grow (rarely: the storage is kept) only when the tail is short.
  if (offset_ > 0 && (offset_ == end_ || offset_ > end_ - offset_)) {
    std::memmove(buffer_.data(), buffer_.data() + offset_, end_ - offset_);
    end_ -= offset_;
    offset_ = 0;
  }
  if (buffer_.size() < end_ + n) buffer_.resize(std::max(end_ + n, buffer_.size() * 2));
  return buffer_.data() + end_;
}

absl::Status FrameReader::Next(bool* complete, FrameHeader* header, std::string_view* payload) {
  *complete = false;
  // want() describes only the frame Next() last found incomplete: a stale hint would make
  // every later read prepare (and, after Consume(), reallocate) room for that one large frame.
  want_ = 0;
  const size_t available = end_ - offset_;
  if (available < kHeaderBytes) return absl::OkStatus();
  const std::string_view rest(buffer_.data() + offset_, available);
  if (absl::Status decoded = DecodeHeader(rest, header); !decoded.ok()) return decoded;
  const size_t total = kHeaderBytes + header->payload_len;
  if (available < total) {
    want_ = total - available;
    return absl::OkStatus();
  }
  *payload = rest.substr(kHeaderBytes, header->payload_len);
  frame_bytes_ = total;
  *complete = true;
  return absl::OkStatus();
}

void FrameReader::Consume() {
  offset_ += frame_bytes_;
  frame_bytes_ = 0;
  if (offset_ == end_) {
    offset_ = end_ = 0;
    // Drained after a large frame: do not keep its storage for the life of the link.
    if (buffer_.size() > kRetainedBufferBytes) std::string().swap(buffer_);
  }
}

}  // namespace beyondkv::link
