#include "gateway/io_loop.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/socket_address.h"
#include "common/socket_paths.h"
#include "gateway/command_context.h"
#include "gateway/command_table.h"
#include "gateway/shardlink/watch_session.h"

namespace beyondkv::gateway {
namespace {

constexpr uint64_t kListenTag = ~0ull;
constexpr uint64_t kWakeTag = ~0ull - 1;
// Link lanes: kLaneTag + shard (client connections are tagged with their fd).
constexpr uint64_t kLaneTag = 1ull << 40;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerEvent = 16;
// Keys and values waiting in the batcher past which they are sent before the loop has read
// every ready connection (see Run).
constexpr uint64_t kSendEarlyBytes = 16 << 10;
// Batched socket I/O: connections per submission, and the receive chunk of each (a
// connection with more to read is read on with read()).
constexpr unsigned kSocketBatchOps = 64;
constexpr size_t kBatchReadChunk = 32 * 1024;

size_t Unwritten(const Connection& conn) { return conn.outbuf.size() - conn.out_offset; }


int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

IoLoop::IoLoop(GatewayShared* shared, int listen_fd)
    : shared_(shared),
      listen_fd_(listen_fd),
      epoll_(kWakeTag),
      batcher_(static_cast<uint32_t>(shared->shards.size())),
      grpc_in_flight_(shared->shards.size(), false),
      idle_poll_(absl::Microseconds(shared->config.idle_poll_us)) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListenTag;
  PCHECK(epoll_ctl(epoll_.fd(), EPOLL_CTL_ADD, listen_fd_, &ev) == 0);
  read_buffer_.resize(kReadChunk);
  if (shared_->config.socket_io == "batched") {
    absl::StatusOr<std::unique_ptr<SocketBatch>> batch = SocketBatch::Create(kSocketBatchOps);
    if (batch.ok()) {
      socket_batch_ = *std::move(batch);
      read_slab_ = std::make_unique<char[]>(kSocketBatchOps * kBatchReadChunk);
    } else {
      LOG_FIRST_N(WARNING, 1) << "batched socket I/O unavailable (" << batch.status()
                              << "): a read() and a write() per connection";
    }
  }
  if (shared_->config.shard_transport == "link") {
    for (uint32_t i = 0; i < shared_->shards.size(); ++i) {
      shardlink::LinkLane::Options options;
      options.shard = i;
      options.shard_count = static_cast<uint32_t>(shared_->shards.size());
      options.socket_path = ShardLinkPath(shared_->config.socket_dir, i);
      lanes_.push_back(std::make_unique<shardlink::LinkLane>(options, epoll_.fd(), kLaneTag + i));
    }
  }
}

IoLoop::~IoLoop() {
  lanes_.clear();  // before the epoll descriptor closes
}

void IoLoop::Stop() {
  stop_.store(true);
  epoll_.Wake();
}

void IoLoop::Post(std::function<void()> fn) {
  bool was_empty;
  {
    absl::MutexLock lock(&posted_mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (was_empty) {
    epoll_.Wake();
  }
}

void IoLoop::RunPosted() {
  std::vector<std::function<void()>> posted;
  {
    absl::MutexLock lock(&posted_mu_);
    posted.swap(posted_);
  }
  for (auto& fn : posted) fn();
}

void IoLoop::Run() {
  epoll_event events[256];
  int64_t last_idle_check = NowMs();
  while (!stop_.load()) {
    int timeout_ms = MaintainLanes();
    // An idle shard still owed the latest observed revision (rate-limited nudge): wake in 1 ms.
    if (batcher_.WantsNudge() && (timeout_ms < 0 || timeout_ms > 1)) timeout_ms = 1;
    // Paused connections that may go on: look at them without waiting.
    if (!resume_.empty()) timeout_ms = 0;
    int n = idle_poll_.Wait(epoll_.fd(), events, 256, timeout_ms);
    if (n < 0 && errno != EINTR) PLOG(FATAL) << "epoll_wait";
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        Accept();
      } else if (tag == kWakeTag) {
        epoll_.Drain();
      } else if (tag >= kLaneTag) {
        lanes_[tag - kLaneTag]->OnEvent(events[i].events);
      } else {
        auto it = conns_.find(static_cast<int>(tag));
        if (it == conns_.end()) continue;
        std::shared_ptr<Connection> conn = it->second;
        if (events[i].events & EPOLLOUT) Flush(conn);
        if (!conn->closed && conn->read_paused && (events[i].events & (EPOLLHUP | EPOLLERR))) {
          // Reset by the peer while paused: nothing can be read or written any more (and a
          // level-triggered EPOLLHUP would otherwise fire on every iteration).
          Close(conn);
          continue;
        }
        if (!conn->closed && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
          if (socket_batch_ != nullptr) {
            readable_.push_back(std::move(conn));  // read below, all in one submission
            continue;
          }
          OnReadable(conn);
          // Batches that already hold enough leave now, so the shards work while this loop
          // reads the other connections (docs/benchmarks.md: +20% MGET of 100 keys).
          if (batcher_.UntakenBytes() >= kSendEarlyBytes) SendBatches();
        }
      }
    }
    if (!readable_.empty()) ReadBatched();
    ResumePaused();
    RunPosted();
    // With a SocketBatch, the frames leave with the replies, in one submission.
    SendBatches(/*write=*/socket_batch_ == nullptr);
    FlushReady();
    if (shared_->config.idle_timeout_secs > 0) {
      int64_t now = NowMs();
      if (now - last_idle_check >= 1000) {
        last_idle_check = now;
        CloseIdle(now);
      }
    }
  }
  epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, listen_fd_, nullptr);
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [fd, conn] : conns_) all.push_back(conn);
  for (auto& conn : all) Close(conn);
  ready_.clear();
  resume_.clear();
}

int IoLoop::MaintainLanes() {
  bool down = false;
  for (auto& lane : lanes_) down |= !lane->connected();
  if (!down) return 1000;
  const absl::Time now = absl::Now();
  absl::Time next = now + absl::Seconds(1);
  for (auto& lane : lanes_) {
    if (!lane->connected()) next = std::min(next, lane->Maintain(now));
  }
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(next - now, absl::Milliseconds(1))), 0, 1000));
}

void IoLoop::Accept() {
  while (true) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        PLOG(WARNING) << "accept";
      }
      return;
    }
    if (shared_->open_connections.load() >= shared_->config.max_conns) {
      // Redis's reply when maxclients is reached; best effort, the socket is new and empty.
      static constexpr char kFull[] = "-ERR max number of clients reached\r\n";
      (void)!write(fd, kFull, sizeof(kFull) - 1);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_shared<Connection>(fd, ParserLimits{});
    ClientState& c = conn->client;
    c.id = shared_->next_client_id.fetch_add(1);
    c.authenticated = shared_->config.requirepass.empty();
    c.peer = FormatSocketAddress(peer);
    sockaddr_storage local{};
    len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      c.local = FormatSocketAddress(local);
    }
    c.created_ms = c.last_active_ms = NowMs();
    shared_->open_connections.fetch_add(1);
    shared_->total_connections.fetch_add(1);
    conns_[fd] = conn;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(fd);
    PCHECK(epoll_ctl(epoll_.fd(), EPOLL_CTL_ADD, fd, &ev) == 0);
  }
}

void IoLoop::UpdateInterest(const std::shared_ptr<Connection>& conn) {
  epoll_event ev{};
  ev.events = (conn->read_paused || conn->closing ? 0 : EPOLLIN) |
              (conn->want_write ? EPOLLOUT : 0);
  ev.data.u64 = static_cast<uint64_t>(conn->fd);
  epoll_ctl(epoll_.fd(), EPOLL_CTL_MOD, conn->fd, &ev);
}

void IoLoop::OnReadable(const std::shared_ptr<Connection>& conn) {
  for (int reads = 0; reads < kMaxReadsPerEvent; ++reads) {
    if (conn->closing || conn->read_paused || conn->has_protocol_error) break;
    ssize_t n = read(conn->fd, read_buffer_.data(), read_buffer_.size());
    if (n == 0) {
      Close(conn);
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      Close(conn);
      return;
    }
    ConsumeInput(conn, read_buffer_.data(), static_cast<size_t>(n));
    if (conn->closed) return;
    if (static_cast<size_t>(n) < read_buffer_.size()) break;  // socket drained
  }
  OnReplyReady(conn);
}

void IoLoop::ConsumeInput(const std::shared_ptr<Connection>& conn, const char* data, size_t n) {
  std::vector<Command>& commands = parsed_scratch_;
  conn->client.last_active_ms = NowMs();
  std::string_view input(data, n);
  commands.clear();
  absl::Status parsed = conn->parser.Parse(&input, &commands);
  for (auto& argv : commands) conn->parsed.push_back(std::move(argv));
  if (!parsed.ok()) {
    conn->has_protocol_error = true;
    conn->protocol_error = std::string(parsed.message());
  }
  DispatchParsed(conn);
}

void IoLoop::ReadBatched() {
  std::vector<std::shared_ptr<Connection>>& conns = readable_;
  if (conns.size() == 1) {
    // One connection (a lone client): a plain read() costs less than a submission.
    if (WantsRead(*conns[0])) {
      OnReadable(conns[0]);
    } else if (!conns[0]->closed) {
      OnReplyReady(conns[0]);  // as OnReadable does when it reads nothing
    }
    conns.clear();
    if (batcher_.UntakenBytes() >= kSendEarlyBytes) SendBatches();
    return;
  }
  size_t next = 0;
  while (next < conns.size()) {
    batch_conns_.clear();
    for (; next < conns.size() && !socket_batch_->full(); ++next) {
      const Connection& conn = *conns[next];
      if (!WantsRead(conn)) {  // closed, closing or paused since its event
        if (!conn.closed) OnReplyReady(conns[next]);  // as OnReadable does
        continue;
      }
      socket_batch_->AddRecv(conn.fd, read_slab_.get() + batch_conns_.size() * kBatchReadChunk,
                             kBatchReadChunk);
      batch_conns_.push_back(next);
    }
    socket_batch_->Run();
    for (size_t op = 0; op < batch_conns_.size(); ++op) {
      const std::shared_ptr<Connection>& conn = conns[batch_conns_[op]];
      // Closed by an earlier connection's command (CLIENT KILL): its input is dropped.
      if (conn->closed) continue;
      const int n = socket_batch_->result(op);
      if (n > 0) {
        ConsumeInput(conn, read_slab_.get() + op * kBatchReadChunk, static_cast<size_t>(n));
        if (conn->closed) continue;
        if (static_cast<size_t>(n) == kBatchReadChunk) {
          OnReadable(conn);  // there may be more: read on as without batches
        } else {
          OnReplyReady(conn);
        }
      } else if (n == 0 || (n != -EAGAIN && n != -EWOULDBLOCK && n != -EINTR)) {
        Close(conn);  // EOF, or reset by the peer
        continue;
      } else if (n == -EINTR) {
        OnReadable(conn);
      } else {
        OnReplyReady(conn);  // nothing there after all (as OnReadable on EAGAIN)
      }
      // Batches that already hold enough leave now, so the shards work while this loop
      // reads the other connections (docs/benchmarks.md: +20% MGET of 100 keys).
      if (batcher_.UntakenBytes() >= kSendEarlyBytes) SendBatches();
    }
  }
  conns.clear();
}

void IoLoop::DispatchParsed(const std::shared_ptr<Connection>& conn) {
  while (!conn->parsed.empty() && !conn->closing && !conn->closed &&
         OutputBudget::MayDispatch(conn->replies.size(), conn->avg_reply_bytes,
                                   Unwritten(*conn))) {
    Command argv = std::move(conn->parsed.front());
    conn->parsed.pop_front();
    Dispatch(conn, argv);
    if (!conn->closed) conn->parser.Recycle(std::move(argv));
  }
  if (conn->closed) return;
  if (conn->closing) {
    conn->parsed.clear();  // after QUIT or a close: the rest is never run, as in Redis
  } else if (conn->parsed.empty() && conn->has_protocol_error) {
    // Redis runs the commands before the error, replies the error and closes the connection.
    auto reply = std::make_shared<PendingReply>();
    RespWriter(&reply->out, conn->client.protocol)
        .Error(absl::StrCat("ERR ", conn->protocol_error));
    reply->close_after = true;
    conn->replies.push_back(std::move(reply));
    conn->closing = true;
  }
  const bool pause =
      !conn->closing &&
      (!conn->parsed.empty() || !OutputBudget::MayDispatch(conn->replies.size(),
                                                           conn->avg_reply_bytes,
                                                           Unwritten(*conn)));
  if (pause != conn->read_paused) {
    conn->read_paused = pause;
    UpdateInterest(conn);  // level-triggered: unread input fires EPOLLIN again on resume
  }
}

void IoLoop::ResumePaused() {
  std::vector<std::shared_ptr<Connection>> conns;
  conns.swap(resume_);
  for (auto& conn : conns) {
    conn->resume_queued = false;
    if (conn->closed || conn->closing || !conn->read_paused) continue;
    DispatchParsed(conn);
    if (!conn->closed) OnReplyReady(conn);
  }
}

void IoLoop::Dispatch(const std::shared_ptr<Connection>& conn, std::vector<std::string>& argv) {
  shared_->total_commands.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<PendingReply> reply = NewReply();
  reply->start_ns = absl::GetCurrentTimeNanos();
  conn->replies.push_back(reply);
  CloseFullBatches();
  CommandContext ctx(this, conn, reply);
  DispatchCommand(ctx, argv);
  ctx.Settle();
  if (reply->close_after) conn->closing = true;
}

void IoLoop::OnReplyReady(const std::shared_ptr<Connection>& conn) {
  if (conn->flush_queued || conn->closed) return;
  conn->flush_queued = true;
  ready_.push_back(conn);
}

void IoLoop::FlushReady() {
  lanes_to_write_.clear();
  if (socket_batch_ != nullptr) {
    for (auto& lane : lanes_) {
      if (!lane->Unwritten().empty()) lanes_to_write_.push_back(lane.get());
    }
  }
  if (socket_batch_ == nullptr || ready_.size() + lanes_to_write_.size() < 2 ||
      lanes_to_write_.size() >= socket_batch_->capacity()) {
    for (shardlink::LinkLane* lane : lanes_to_write_) lane->Flush();
    lanes_to_write_.clear();
    // Flush may close a connection, which never adds to ready_: iterate by index anyway.
    for (size_t i = 0; i < ready_.size(); ++i) {
      ready_[i]->flush_queued = false;
      Flush(ready_[i]);
    }
    ready_.clear();
    return;
  }
  // Every connection's write in one submission per SocketBatch::capacity() connections; the
  // link frames in the first (their data stays put: nothing below queues frames before the
  // submission runs).
  while (!ready_.empty() || !lanes_to_write_.empty()) {
    flushing_.swap(ready_);
    flush_close_now_.assign(flushing_.size(), 0);
    size_t next = 0;
    while (next < flushing_.size() || !lanes_to_write_.empty()) {
      const size_t first = next;
      const size_t lane_ops = lanes_to_write_.size();
      for (shardlink::LinkLane* lane : lanes_to_write_) {
        const std::string_view frames = lane->Unwritten();
        socket_batch_->AddSend(lane->fd(), frames.data(), frames.size());
      }
      batch_conns_.clear();
      for (; next < flushing_.size() && !socket_batch_->full(); ++next) {
        Connection& conn = *flushing_[next];
        conn.flush_queued = false;
        if (conn.closed) continue;
        flush_close_now_[next] = TakeReplies(conn);
        if (CloseIfOverOutputLimit(flushing_[next]) || Unwritten(conn) == 0) continue;
        socket_batch_->AddSend(conn.fd, conn.outbuf.data() + conn.out_offset, Unwritten(conn));
        batch_conns_.push_back(next);
      }
      socket_batch_->Run();
      for (size_t op = 0; op < lane_ops; ++op) {
        lanes_to_write_[op]->Wrote(socket_batch_->result(op));
      }
      lanes_to_write_.clear();
      for (size_t op = 0; op < batch_conns_.size(); ++op) {
        const std::shared_ptr<Connection>& conn = flushing_[batch_conns_[op]];
        const int n = socket_batch_->result(lane_ops + op);
        if (n >= 0) {
          // A short write means the socket is full, as a second write() would find:
          // AfterWrite arms EPOLLOUT for the rest.
          conn->out_offset += static_cast<size_t>(n);
        } else if (n == -EINTR) {
          WriteOut(conn);
        } else if (n != -EAGAIN && n != -EWOULDBLOCK) {
          Close(conn);  // peer went away mid-reply
        }
      }
      for (size_t i = first; i < next; ++i) {
        if (!flushing_[i]->closed) AfterWrite(flushing_[i], flush_close_now_[i] != 0);
      }
    }
    flushing_.clear();
  }
}

void IoLoop::WritePush(const std::shared_ptr<Connection>& conn, const std::string& frame,
                       const std::string& error_if_full) {
  if (conn->closed) return;
  if (conn->outbuf.size() - conn->out_offset > kMaxWatchOutputBytes) {
    // A watcher that does not read: cut it off rather than grow without bound. It can
    // resume with SINCE <last revision it saw>.
    for (auto& watch : conn->watches) watch->Cancel();
    conn->watches.clear();
    conn->watch_replies.clear();
    conn->replies.clear();
    RespWriter(&conn->outbuf, conn->client.protocol).Error(error_if_full);
    conn->closing = true;
    // Best effort: the client is not reading, so the error may never arrive.
    (void)!write(conn->fd, conn->outbuf.data() + conn->out_offset,
                 conn->outbuf.size() - conn->out_offset);
    Close(conn);
    return;
  }
  conn->outbuf.append(frame);
  OnReplyReady(conn);
}

std::shared_ptr<PendingReply> IoLoop::NewReply() {
  if (reply_pool_.empty()) return std::make_shared<PendingReply>();
  std::shared_ptr<PendingReply> reply = std::move(reply_pool_.back());
  reply_pool_.pop_back();
  return reply;
}

void IoLoop::RecycleReply(std::shared_ptr<PendingReply> reply) {
  // Only a reply nothing else refers to (no op callback, no EXEC parent) is reused.
  if (reply == nullptr || reply.use_count() != 1 || reply_pool_.size() >= kMaxPooledReplies) {
    return;
  }
  reply->Reset();
  reply_pool_.push_back(std::move(reply));
}

void IoLoop::Flush(const std::shared_ptr<Connection>& conn) {
  if (conn->closed) return;
  const bool close_now = TakeReplies(*conn);
  if (CloseIfOverOutputLimit(conn) || !WriteOut(conn)) return;
  AfterWrite(conn, close_now);
}

bool IoLoop::CloseIfOverOutputLimit(const std::shared_ptr<Connection>& conn) {
  const uint64_t hard_limit = shared_->config.client_output_buffer_limit_bytes;
  if (!OutputBudget::OverHardLimit(Unwritten(*conn), hard_limit)) return false;
  // Redis's client-output-buffer-limit: disconnect rather than hold more for a client that
  // does not read, or that asked for one reply larger than the limit. Checked before the
  // write, as Redis checks when a reply is added: whether a reply over the limit arrives
  // must not depend on how much the kernel's socket buffers happen to take.
  LOG(WARNING) << "closing client id=" << conn->client.id << " addr=" << conn->client.peer
               << ": " << Unwritten(*conn)
               << " bytes of unread output exceed --client-output-buffer-limit-bytes="
               << hard_limit;
  Close(conn);
  return true;
}

bool IoLoop::TakeReplies(Connection& conn) {
  while (!conn.replies.empty() && conn.replies.front()->outstanding == 0) {
    PendingReply& front = *conn.replies.front();
    conn.avg_reply_bytes = OutputBudget::UpdateAverage(conn.avg_reply_bytes, front.out.size());
    if (conn.outbuf.empty()) {
      conn.outbuf.swap(front.out);  // the common case: no copy
    } else {
      conn.outbuf.append(front.out);
    }
    const bool last = front.close_after;
    RecycleReply(std::move(conn.replies.front()));
    conn.replies.pop_front();
    if (last) return true;
  }
  return false;
}

bool IoLoop::WriteOut(const std::shared_ptr<Connection>& conn) {
  while (conn->out_offset < conn->outbuf.size()) {
    ssize_t n = write(conn->fd, conn->outbuf.data() + conn->out_offset,
                      conn->outbuf.size() - conn->out_offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close(conn);  // peer went away mid-reply
      return false;
    }
    conn->out_offset += static_cast<size_t>(n);
  }
  return true;
}

void IoLoop::AfterWrite(const std::shared_ptr<Connection>& conn, bool close_now) {
  bool drained = conn->out_offset == conn->outbuf.size();
  if (drained) {
    conn->outbuf.clear();
    conn->out_offset = 0;
    if (close_now || (conn->closing && conn->replies.empty())) {
      Close(conn);
      return;
    }
  } else if (conn->out_offset > (1u << 20)) {
    conn->outbuf.erase(0, conn->out_offset);
    conn->out_offset = 0;
  }
  bool want_write = !drained;
  if (close_now) {
    // Written partially: stop reading, finish writing, then close.
    conn->closing = true;
    conn->replies.clear();
    conn->parsed.clear();
  }
  if (want_write != conn->want_write) {
    conn->want_write = want_write;
    UpdateInterest(conn);
  }
  if (conn->read_paused && !conn->closing && !conn->resume_queued &&
      OutputBudget::MayResume(conn->replies.size(), conn->avg_reply_bytes, Unwritten(*conn))) {
    // Dispatched (and read) again at the next iteration, not here: Flush runs after this
    // iteration's batches were sent.
    conn->resume_queued = true;
    resume_.push_back(conn);
  }
}

void IoLoop::Close(const std::shared_ptr<Connection>& conn) {
  if (conn->closed) return;
  conn->closed = true;
  for (auto& watch : conn->watches) watch->Cancel();  // closing the connection is UNWATCH
  conn->watches.clear();
  conn->watch_replies.clear();
  epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, conn->fd, nullptr);
  close(conn->fd);
  conns_.erase(conn->fd);
  conn->replies.clear();
  conn->parsed.clear();
  // Late shard answers may still hold the connection: free its buffers now.
  std::string().swap(conn->outbuf);
  conn->out_offset = 0;
  shared_->open_connections.fetch_sub(1);
}

void IoLoop::CloseIdle(int64_t now_ms) {
  const int64_t limit_ms = static_cast<int64_t>(shared_->config.idle_timeout_secs) * 1000;
  std::vector<std::shared_ptr<Connection>> idle;
  for (auto& [fd, conn] : conns_) {
    if (conn->replies.empty() && now_ms - conn->client.last_active_ms > limit_ms) {
      idle.push_back(conn);
    }
  }
  for (auto& conn : idle) Close(conn);
}

std::string IoLoop::ListClients() const {
  std::string lines;
  for (const auto& [fd, conn] : conns_) lines += FormatClientInfo(conn->client, fd);
  return lines;
}

int IoLoop::KillClients(const KillFilter& filter) {
  std::vector<std::shared_ptr<Connection>> victims;
  for (const auto& [fd, conn] : conns_) {
    const ClientState& c = conn->client;
    if (c.id == filter.skip) continue;
    if (filter.id != 0 && c.id != filter.id) continue;
    if (filter.addr && c.peer != *filter.addr) continue;
    if (filter.laddr && c.local != *filter.laddr) continue;
    victims.push_back(conn);
  }
  int killed = 0;
  for (auto& conn : victims) {
    ++killed;
    if (!conn->replies.empty() && conn->replies.back()->outstanding > 0) {
      // Waiting on replies (the CLIENT KILL caller among them): close once they are written.
      conn->closing = true;
    } else {
      Close(conn);
    }
  }
  return killed;
}

v1::Op* IoLoop::AddOp(uint32_t shard, OpDone done) { return batcher_.Add(shard, std::move(done)); }

uint64_t IoLoop::BeginTransaction() {
  txn_ = ++next_txn_;
  txn_shards_.clear();
  return txn_;
}

std::vector<uint32_t> IoLoop::EndTransaction() {
  txn_ = 0;
  return std::move(txn_shards_);
}

void IoLoop::NoteTransactionShard(uint32_t shard) {
  if (std::find(txn_shards_.begin(), txn_shards_.end(), shard) == txn_shards_.end()) {
    txn_shards_.push_back(shard);
  }
}

IoLoop::OpSlot* IoLoop::AcquireSlot() {
  if (free_slots_.empty()) return new OpSlot();
  OpSlot* slot = free_slots_.back().release();
  free_slots_.pop_back();
  return slot;
}

void IoLoop::CompleteSlot(OpSlot* slot, v1::OpResult& result) {
  std::shared_ptr<PendingReply> reply = std::move(slot->reply);
  CommandContext ctx(this, std::move(slot->conn), reply);
  std::function<void(v1::OpResult&, CommandContext&)> cb = std::move(slot->cb);
  slot->cb = nullptr;
  constexpr size_t kMaxFreeSlots = 1 << 16;
  if (free_slots_.size() < kMaxFreeSlots) {
    free_slots_.emplace_back(slot);
  } else {
    delete slot;
  }
  if (cb) cb(result, ctx);
  --reply->outstanding;
  if (ctx.Settle()) OnReplyReady(ctx.connection());
}

void IoLoop::SendBatches(bool write) {
  if (batcher_.WantsNudge()) batcher_.NudgeIdleShards(absl::GetCurrentTimeNanos());
  for (uint32_t shard = 0; shard < batcher_.shard_count(); ++shard) {
    if (!lanes_.empty()) {
      // The link: as many batches in flight as the lane's bounds allow, then one write.
      lanes_[shard]->SendFrom(batcher_, write);
      continue;
    }
    if (grpc_in_flight_[shard] || !batcher_.HasBatch(shard)) continue;
    shardlink::Batch batch = batcher_.Take(shard);
    grpc_in_flight_[shard] = true;
    auto done = std::make_shared<std::vector<OpDone>>(std::move(batch.done));
    shared_->shards[shard]->Execute(
        std::move(batch.request), [this, shard, done](const grpc::Status& status,
                                                v1::BatchResponse* response) {
          // On a gRPC thread: hand the results to the loop thread.
          auto results = std::make_shared<v1::BatchResponse>();
          std::string error;
          if (status.ok()) {
            results->Swap(response);
          } else {
            error = absl::StrCat("shard ", shard, " unavailable: ", status.error_message());
          }
          Post([this, shard, error, results, done] {
            grpc_in_flight_[shard] = false;
            if (error.empty()) {
              shardlink::DeliverResults(shard, *results, done.get());
            } else {
              shardlink::FailOps(done.get(), error);
            }
          });
        });
  }
}

}  // namespace beyondkv::gateway
