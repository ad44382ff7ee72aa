#include "gateway/shardlink/link_lane.h"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace beyondkv::shardlink {
namespace {

constexpr size_t kReadChunk = 256u << 10;
constexpr int kMaxReadsPerEvent = 8;
constexpr absl::Duration kMinBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

}  // namespace

LinkLane::LinkLane(const Options& options, int epoll_fd, uint64_t tag)
    : options_(options), epoll_fd_(epoll_fd), tag_(tag) {}

LinkLane::~LinkLane() {
  if (fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
    close(fd_);
    fd_ = -1;
  }
  std::deque<InFlight> in_flight;
  in_flight.swap(in_flight_);
  for (InFlight& f : in_flight) {
    FailOps(&f.done, absl::StrCat("shard ", options_.shard, " unavailable: gateway shutting down"));
  }
}

bool LinkLane::CanSend() const {
  return in_flight_.size() < options_.max_in_flight_batches &&
         in_flight_bytes_ < options_.max_in_flight_bytes;
}

bool LinkLane::Connect() {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    last_error_ = absl::StrCat("socket: ", strerror(errno));
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.socket_path.size() >= sizeof(addr.sun_path)) {
    close(fd);
    last_error_ = "link socket path too long";
    return false;
  }
  std::memcpy(addr.sun_path, options_.socket_path.data(), options_.socket_path.size());
  // A unix stream connect completes at once or fails (EAGAIN: the backlog is full).
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    last_error_ = absl::StrCat("connect ", options_.socket_path, ": ", strerror(errno));
    close(fd);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    last_error_ = absl::StrCat("epoll_ctl: ", strerror(errno));
    close(fd);
    return false;
  }
  fd_ = fd;
  want_write_ = false;
  welcomed_ = false;
  next_seq_ = 1;
  in_ = link::FrameReader();
  out_.clear();
  out_offset_ = 0;
  ++connects_;
  v1::LinkHello hello;
  hello.set_version(link::kProtocolVersion);
  hello.set_shard_id(options_.shard);
  hello.set_shard_count(options_.shard_count);
  (void)link::AppendFrame(link::FrameType::kHello, 0, hello, &out_);
  return true;
}

absl::Time LinkLane::Maintain(absl::Time now) {
  if (fd_ >= 0) return absl::InfiniteFuture();
  if (now < retry_at_) return retry_at_;
  if (Connect()) {
    Flush();
    return absl::InfiniteFuture();
  }
  retry_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  return retry_at_;
}

std::unique_ptr<v1::BatchRequest> LinkLane::Send(Batch batch) {
  if (fd_ < 0) {
    const absl::Time now = absl::Now();
    if (now >= retry_at_ && !Connect()) {
      retry_at_ = now + backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    }
  }
  if (fd_ < 0) {
    FailOps(&batch.done, absl::StrCat("shard ", options_.shard, " unavailable: ", last_error_));
  } else if (absl::Status framed =
                 link::AppendFrame(link::FrameType::kBatch, next_seq_, *batch.request, &out_);
             !framed.ok()) {
    FailOps(&batch.done, std::string(framed.message()), v1::OpResult::REASON_UNSPECIFIED);
  } else {
    const size_t bytes = batch.request->GetCachedSize();
    in_flight_.push_back(InFlight{next_seq_++, bytes, std::move(batch.done)});
    in_flight_bytes_ += bytes;
  }
  // A cleared request keeps its ops and their strings allocated for reuse: not those of a
  // huge batch (many ops, or one op with many keys; the size was cached when it was framed).
  if (batch.request->ops_size() > kMaxReusedOps ||
      static_cast<size_t>(batch.request->GetCachedSize()) > kMaxRetainedBytes) {
    return nullptr;
  }
  batch.request->Clear();
  return std::move(batch.request);
}

void LinkLane::SendFrom(Batcher& batcher, bool write) {
  const uint32_t shard = options_.shard;
  while (batcher.HasBatch(shard) && CanSend()) batcher.GiveRequest(shard, Send(batcher.Take(shard)));
  while (!spare_done_.empty() && batcher.GiveDoneStorage(shard, &spare_done_.back())) {
    spare_done_.pop_back();
  }
  if (write) Flush();
}

void LinkLane::Flush() {
  if (fd_ < 0) return;
  while (out_offset_ < out_.size()) {
    const ssize_t n = write(fd_, out_.data() + out_offset_, out_.size() - out_offset_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Close(absl::StrCat("write: ", strerror(errno)));
    }
    out_offset_ += static_cast<size_t>(n);
  }
  AfterWrite();
}

std::string_view LinkLane::Unwritten() const {
  if (fd_ < 0) return {};
  return std::string_view(out_).substr(out_offset_);
}

void LinkLane::Wrote(int result) {
  if (fd_ < 0) return;
  if (result == -EINTR) return Flush();
  if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK) {
    return Close(absl::StrCat("write: ", strerror(-result)));
  }
  if (result > 0) out_offset_ += static_cast<size_t>(result);
  AfterWrite();
}

void LinkLane::AfterWrite() {
  if (out_offset_ == out_.size()) {
    if (out_.capacity() > kMaxRetainedBytes) {
      std::string().swap(out_);  // after a large batch: do not keep its buffer
    } else {
      out_.clear();
    }
    out_offset_ = 0;
  } else if (out_offset_ > (1u << 20)) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  const bool want_write = out_offset_ < out_.size();
  if (want_write != want_write_) {
    want_write_ = want_write;
    UpdateInterest();
  }
}

void LinkLane::UpdateInterest() {
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write_ ? EPOLLOUT : 0);
  ev.data.u64 = tag_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
}

void LinkLane::OnEvent(uint32_t events) {
  if (fd_ < 0) return;
  if (events & EPOLLOUT) Flush();
  if (fd_ >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) Read();
}

void LinkLane::Read() {
  for (int i = 0; i < kMaxReadsPerEvent && fd_ >= 0; ++i) {
    const size_t chunk = std::max(kReadChunk, in_.want());
    char* buf = in_.PrepareWrite(chunk);
    const ssize_t n = read(fd_, buf, chunk);
    if (n == 0) return Close("the shard closed the link");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return Close(absl::StrCat("read: ", strerror(errno)));
    }
    in_.Commit(static_cast<size_t>(n));
    while (fd_ >= 0) {
      bool complete = false;
      link::FrameHeader header;
      std::string_view payload;
      if (absl::Status next = in_.Next(&complete, &header, &payload); !next.ok()) {
        return Close(std::string(next.message()));
      }
      if (!complete) break;
      HandleFrame(header, payload);
      if (fd_ >= 0) in_.Consume();
    }
    if (static_cast<size_t>(n) < chunk) break;  // drained
  }
  if (shrink_reader_ && fd_ >= 0 && in_.buffered() == 0) {
    // Swapped, not assigned: moving an empty std::string into one keeps its capacity.
    link::FrameReader fresh;
    std::swap(in_, fresh);
    shrink_reader_ = false;
  }
}

void LinkLane::HandleFrame(const link::FrameHeader& header, std::string_view payload) {
  if (!welcomed_) {
    v1::LinkWelcome welcome;
    if (header.type != link::FrameType::kWelcome ||
        !welcome.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Close("protocol error: expected WELCOME");
    }
    if (!welcome.error().empty()) return Close(absl::StrCat("refused: ", welcome.error()));
    if (welcome.shard_id() != options_.shard || welcome.shard_count() != options_.shard_count) {
      return Close(absl::StrCat("the socket serves shard ", welcome.shard_id(), " of ",
                                welcome.shard_count(), ", expected ", options_.shard, " of ",
                                options_.shard_count));
    }
    if (boot_id_ != 0 && boot_id_ != welcome.boot_id()) {
      LOG(INFO) << "shard " << options_.shard << " restarted (new boot id); link re-established";
    }
    boot_id_ = welcome.boot_id();
    welcomed_ = true;
    backoff_ = kMinBackoff;
    return;
  }
  if (header.type != link::FrameType::kResult) return Close("protocol error: unexpected frame");
  if (in_flight_.empty() || in_flight_.front().seq != header.seq) {
    return Close(absl::StrCat("protocol error: result for batch ", header.seq, ", expected ",
                              in_flight_.empty() ? 0 : in_flight_.front().seq));
  }
  if (!response_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Close("protocol error: unparsable result");
  }
  InFlight done = std::move(in_flight_.front());
  in_flight_.pop_front();
  in_flight_bytes_ -= done.bytes;
  // Callbacks may send more ops (they queue in the batcher) but never re-enter the lane.
  DeliverResults(options_.shard, response_, &done.done);
  // The callbacks' storage goes back to the batcher (SendFrom) for the next batch.
  if (spare_done_.size() < options_.max_in_flight_batches &&
      done.done.capacity() <= static_cast<size_t>(kMaxReusedOps)) {
    done.done.clear();
    spare_done_.emplace_back().swap(done.done);
  }
  if (payload.size() > kMaxRetainedBytes) {
    // One large result (a million ops, 40 MiB of values) must not stay allocated in the
    // reused message, nor in the read buffer once it drains (Read()).
    response_ = v1::BatchResponse();
    shrink_reader_ = true;
  }
}

void LinkLane::Close(const std::string& why) {
  if (fd_ < 0) return;
  LOG(WARNING) << "shard " << options_.shard << " link lost: " << why;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
  close(fd_);
  fd_ = -1;
  last_error_ = why;
  retry_at_ = absl::Now() + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  std::deque<InFlight> in_flight;
  in_flight.swap(in_flight_);
  in_flight_bytes_ = 0;
  const std::string message = absl::StrCat("shard ", options_.shard, " unavailable: ", why);
  for (InFlight& f : in_flight) FailOps(&f.done, message);
}

}  // namespace beyondkv::shardlink
