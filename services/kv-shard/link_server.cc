#include "services/kv-shard/link_server.h"

#include <glog/logging.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace beyondkv::shard {
namespace {

constexpr size_t kReadChunk = 256u << 10;
constexpr int kMaxReadsPerEvent = 8;
// A request/response pair whose batch was larger than this is freed, not pooled, so one
// huge batch does not pin its memory for the life of the process.
constexpr size_t kMaxPooledPayload = 1u << 20;
constexpr size_t kMaxPooled = 256;

}  // namespace

struct LinkServer::Lane {
  uint64_t tag = 0;
  int fd = -1;
  bool hello_done = false;
  bool closed = false;
  bool close_after_write = false;  // refused at HELLO: close once WELCOME is written
  bool paused = false;             // too much unwritten output: not read, not drained
  bool want_write = false;         // EPOLLOUT armed
  bool dirty = false;              // in dirty_
  bool buffered = false;           // counted in buffered_lanes_
  link::FrameReader in;
  std::string out;
  size_t out_offset = 0;
};

struct LinkServer::Pending {
  v1::BatchRequest request;
  v1::BatchResponse response;
  uint64_t seq = 0;
  size_t payload_bytes = 0;
  std::shared_ptr<Lane> lane;
};

absl::StatusOr<int> LinkServer::Listen(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("link socket path too long: ", socket_path));
  }
  if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(
        absl::StrCat("cannot remove stale socket ", socket_path, ": ", strerror(errno)));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 128) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", socket_path, ": ", strerror(err)));
  }
  return fd;
}

LinkServer::LinkServer(const LinkServerOptions& options, int listen_fd, int epoll_fd)
    : options_(options), listen_fd_(listen_fd), epoll_fd_(epoll_fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  PCHECK(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) == 0) << "epoll_ctl link listener";
}

LinkServer::~LinkServer() {
  CloseAll();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  close(listen_fd_);
}

void LinkServer::OnEvent(uint64_t tag, uint32_t events) {
  if (tag == kListenTag) {
    Accept();
    return;
  }
  auto it = lanes_.find(tag);
  if (it == lanes_.end()) return;
  std::shared_ptr<Lane> lane = it->second;
  if (events & EPOLLOUT) Write(lane.get());
  if (!lane->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) Read(lane.get());
}

void LinkServer::Accept() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) PLOG(WARNING) << "accept";
      return;
    }
    auto lane = std::make_shared<Lane>();
    lane->fd = fd;
    lane->tag = kTagBase + next_lane_id_++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = lane->tag;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      PLOG(WARNING) << "epoll_ctl link lane";
      close(fd);
      continue;
    }
    lanes_.emplace(lane->tag, std::move(lane));
  }
}

void LinkServer::Read(Lane* lane) {
  if (lane->paused || lane->close_after_write) return;
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    const size_t chunk = std::max(kReadChunk, lane->in.want());
    char* buf = lane->in.PrepareWrite(chunk);
    const ssize_t n = read(lane->fd, buf, chunk);
    if (n > 0) {
      lane->in.Commit(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < chunk) break;  // drained
      continue;
    }
    if (n == 0) return Close(lane, "the gateway closed the link");
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    return Close(lane, strerror(errno));
  }
  if (!lane->buffered && lane->in.buffered() >= link::kHeaderBytes) {
    lane->buffered = true;
    ++buffered_lanes_;
  }
}

bool LinkServer::HasBufferedBatches() const {
  if (buffered_lanes_ == 0) return false;
  for (const auto& [tag, lane] : lanes_) {
    if (lane->buffered && !lane->paused) return true;
  }
  return false;
}

void LinkServer::TakeCalls(std::vector<ShardCall>* calls) {
  if (buffered_lanes_ == 0) return;
  std::vector<std::shared_ptr<Lane>> ready;
  for (auto& [tag, lane] : lanes_) {
    if (lane->buffered && !lane->paused) ready.push_back(lane);
  }
  for (auto& lane : ready) Drain(lane.get(), calls, kMaxFramesPerRound);
}

void LinkServer::Drain(Lane* lane, std::vector<ShardCall>* calls, int max_batches) {
  int taken = 0;
  while (!lane->closed && taken < max_batches) {
    bool complete = false;
    link::FrameHeader header;
    std::string_view payload;
    if (absl::Status next = lane->in.Next(&complete, &header, &payload); !next.ok()) {
      return Close(lane, std::string(next.message()).c_str());
    }
    if (!complete) break;
    if (!lane->hello_done) {
      v1::LinkHello hello;
      v1::LinkWelcome welcome;
      welcome.set_version(link::kProtocolVersion);
      welcome.set_shard_id(options_.shard_id);
      welcome.set_shard_count(options_.shard_count);
      welcome.set_boot_id(options_.boot_id);
      if (header.type != link::FrameType::kHello ||
          !hello.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return Close(lane, "the first frame is not a HELLO");
      }
      lane->in.Consume();
      if (hello.version() != link::kProtocolVersion) {
        welcome.set_error(absl::StrCat("link protocol version ", hello.version(),
                                       " is not supported (this shard speaks ",
                                       link::kProtocolVersion, ")"));
      } else if (hello.shard_id() != options_.shard_id ||
                 hello.shard_count() != options_.shard_count) {
        welcome.set_error(absl::StrCat("this is shard ", options_.shard_id, " of ",
                                       options_.shard_count, ", not shard ", hello.shard_id(),
                                       " of ", hello.shard_count()));
      }
      lane->hello_done = true;
      (void)link::AppendFrame(link::FrameType::kWelcome, 0, welcome, &lane->out);
      if (!welcome.error().empty()) {
        LOG(WARNING) << "refused a link: " << welcome.error();
        lane->close_after_write = true;
      }
      Write(lane);
      if (lane->closed || lane->close_after_write) break;
      continue;
    }
    if (header.type != link::FrameType::kBatch) {
      return Close(lane, "unexpected frame type on a link");
    }
    Pending* pending = NewPending();
    if (!pending->request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      free_.emplace_back(pending);
      return Close(lane, "unparsable batch");
    }
    pending->seq = header.seq;
    pending->payload_bytes = payload.size();
    auto it = lanes_.find(lane->tag);
    pending->lane = it->second;
    lane->in.Consume();
    calls->push_back(ShardCall{&pending->request, &pending->response,
                               [this, pending] { Complete(pending); }});
    ++taken;
  }
  bool complete = false;
  link::FrameHeader header;
  std::string_view payload;
  const bool more = !lane->closed && lane->in.Next(&complete, &header, &payload).ok() && complete;
  if (lane->buffered && !more) {
    lane->buffered = false;
    --buffered_lanes_;
  }
}

LinkServer::Pending* LinkServer::NewPending() {
  if (free_.empty()) return new Pending();
  Pending* p = free_.back().release();
  free_.pop_back();
  return p;
}

void LinkServer::Complete(Pending* pending) {
  Lane* lane = pending->lane.get();
  if (!lane->closed) {
    if (absl::Status appended =
            link::AppendFrame(link::FrameType::kResult, pending->seq, pending->response, &lane->out);
        !appended.ok()) {
      // Results above the frame limit (a GET of many huge values): the lane cannot carry
      // them; closing it fails the batch at the gateway instead of wedging the lane.
      LOG(ERROR) << appended.message();
      Close(lane, "result too large");
    } else if (!lane->dirty) {
      lane->dirty = true;
      dirty_.push_back(pending->lane);
    }
  }
  pending->lane.reset();
  if (pending->payload_bytes <= kMaxPooledPayload && free_.size() < kMaxPooled) {
    pending->request.Clear();
    pending->response.Clear();
    free_.emplace_back(pending);
  } else {
    delete pending;
  }
}

void LinkServer::Flush() {
  if (dirty_.empty()) return;
  std::vector<std::shared_ptr<Lane>> dirty;
  dirty.swap(dirty_);
  for (auto& lane : dirty) {
    lane->dirty = false;
    if (!lane->closed) Write(lane.get());
  }
}

void LinkServer::Write(Lane* lane) {
  while (lane->out_offset < lane->out.size()) {
    const ssize_t n = write(lane->fd, lane->out.data() + lane->out_offset,
                            lane->out.size() - lane->out_offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Close(lane, strerror(errno));
    }
    lane->out_offset += static_cast<size_t>(n);
  }
  const size_t unwritten = lane->out.size() - lane->out_offset;
  if (unwritten == 0) {
    if (lane->out.capacity() > link::FrameReader::kRetainedBufferBytes) {
      std::string().swap(lane->out);  // after a large result: do not keep its buffer
    } else {
      lane->out.clear();
    }
    lane->out_offset = 0;
    if (lane->close_after_write) return Close(lane, "link refused");
  } else if (lane->out_offset > (1u << 20)) {
    lane->out.erase(0, lane->out_offset);
    lane->out_offset = 0;
  }
  const bool want_write = unwritten > 0;
  bool paused = lane->paused;
  if (!paused && unwritten > options_.max_output_bytes) paused = true;
  if (paused && unwritten < options_.max_output_bytes / 2) paused = false;
  if (want_write != lane->want_write || paused != lane->paused) {
    lane->want_write = want_write;
    lane->paused = paused;
    UpdateInterest(lane);
  }
}

void LinkServer::UpdateInterest(Lane* lane) {
  epoll_event ev{};
  ev.events = (lane->paused ? 0 : EPOLLIN) | (lane->want_write ? EPOLLOUT : 0);
  ev.data.u64 = lane->tag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, lane->fd, &ev);
}

void LinkServer::Close(Lane* lane, const char* why) {
  if (lane->closed) return;
  VLOG(1) << "link lane closed: " << why;
  lane->closed = true;
  if (lane->buffered) {
    lane->buffered = false;
    --buffered_lanes_;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, lane->fd, nullptr);
  close(lane->fd);
  lanes_.erase(lane->tag);  // Pendings and dirty_ may still hold it
}

void LinkServer::CloseAll() {
  std::vector<std::shared_ptr<Lane>> all;
  for (auto& [tag, lane] : lanes_) all.push_back(lane);
  for (auto& lane : all) Close(lane.get(), "shutting down");
}

}  // namespace beyondkv::shard
