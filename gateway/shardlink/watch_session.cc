#include "gateway/shardlink/watch_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/shardlink/batch.h"

namespace beyondkv::shardlink {

// One shard's Watch stream. Owned by itself until gRPC calls OnDone, and by its session.
class WatchSession::Stream : public grpc::ClientReadReactor<v1::WatchEvent> {
 public:
  Stream(WeighedPost post, std::weak_ptr<WatchSession> session, size_t index, uint32_t shard)
      : post_(std::move(post)), session_(std::move(session)), index_(index), shard_(shard) {}

  void Begin(ShardClient* client, const v1::WatchRequest& request,
             std::shared_ptr<Stream> self) {
    call_.Begin(client);
    self_ = std::move(self);
    request_ = request;
    client->stub()->async()->Watch(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    const size_t bytes =
        sizeof(v1::WatchEvent) + event_.key().size() + event_.value().size() +
        event_.metadata().size();
    post_(bytes, [session = session_, index = index_, event = std::move(event_)]() mutable {
      if (auto s = session.lock()) s->OnEvent(index, std::move(event));
    });
    event_ = v1::WatchEvent();
    StartRead(&event_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::Status error;
    switch (status.error_code()) {
      case grpc::StatusCode::FAILED_PRECONDITION:
        error = absl::FailedPreconditionError(status.error_message());
        break;
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        error = absl::ResourceExhaustedError(status.error_message());
        break;
      case grpc::StatusCode::CANCELLED:
        break;  // our own Cancel(): nothing to report
      default:
        error = absl::UnavailableError(
            absl::StrCat("shard ", shard_, " unavailable: ",
                         status.ok() ? "watch stream ended" : status.error_message()));
    }
    if (status.error_code() != grpc::StatusCode::CANCELLED) {
      post_(sizeof(absl::Status), [session = session_, index = index_, error] {
        if (auto s = session.lock()) s->OnStreamEnd(index, error);
      });
    }
    self_.reset();  // may delete this
  }

 private:
  // Ends the call on its ShardClient once context_ is gone (declared before it, so destroyed
  // after it): see ~ShardClient.
  class CallEnd {
   public:
    void Begin(ShardClient* client) {
      client_ = client;
      client_->BeginCall();
    }
    ~CallEnd() {
      if (client_ != nullptr) client_->EndCall();
    }

   private:
    ShardClient* client_ = nullptr;
  };

  WeighedPost post_;
  std::weak_ptr<WatchSession> session_;
  size_t index_;
  uint32_t shard_;
  CallEnd call_;
  grpc::ClientContext context_;
  v1::WatchRequest request_;
  v1::WatchEvent event_;
  std::shared_ptr<Stream> self_;
};

WatchSession::WatchSession(Post post, std::vector<uint32_t> shards, Sink sink,
                           Failure failure)
    : WatchSession(
          [post = std::move(post)](size_t, std::function<void()> fn) { post(std::move(fn)); },
          std::move(shards), std::move(sink), std::move(failure)) {}

namespace {

// What an event held in a pending list costs, roughly.
size_t PendingBytes(const v1::WatchEvent& event) {
  return sizeof(v1::WatchEvent) + event.key().size() + event.value().size() +
         event.metadata().size();
}

}  // namespace

WatchSession::WatchSession(WeighedPost post, std::vector<uint32_t> shards, Sink sink,
                           Failure failure)
    : post_(std::move(post)), sink_(std::move(sink)), failure_(std::move(failure)) {
  for (uint32_t shard : shards) {
    ShardState state;
    state.shard = shard;
    states_.push_back(std::move(state));
  }
}

WatchSession::~WatchSession() { Cancel(); }

void WatchSession::Start(const std::vector<ShardClient*>& clients,
                         const std::vector<v1::WatchRequest>& requests) {
  for (size_t i = 0; i < states_.size(); ++i) {
    states_[i].client = clients[i];
    auto stream = std::make_shared<Stream>(post_, weak_from_this(), i, states_[i].shard);
    streams_.push_back(stream);
    stream->Begin(clients[i], requests[i], stream);
  }
}

void WatchSession::Cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  for (auto& stream : streams_) stream->Cancel();
  streams_.clear();
}

void WatchSession::OnEvent(size_t index, v1::WatchEvent event) {
  if (cancelled_) return;
  ShardState& state = states_[index];
  switch (event.kind()) {
    case v1::WatchEvent::WATERMARK:
      state.watermark = std::max(state.watermark, event.revision());
      break;
    case v1::WatchEvent::READY:
      state.watermark = std::max(state.watermark, event.revision());
      state.ready = true;
      state.ready_revision = event.revision();
      break;
    default:
      state.watermark = std::max(state.watermark, event.revision());
      pending_bytes_ += PendingBytes(event);
      state.pending.push_back(std::move(event));
      break;
  }
  Release();
  if (!cancelled_ && pending_bytes_ > kMaxPendingBytes) {
    OnStreamEnd(index, absl::ResourceExhaustedError(absl::StrCat(
        "watch fell behind: more than ", kMaxPendingBytes,
        " bytes of events waited for the other shards; resume with SINCE ", last_revision_)));
  }
}

void WatchSession::OnStreamEnd(size_t, const absl::Status& error) {
  if (cancelled_) return;
  Cancel();
  if (failure_) failure_(error);
}

void WatchSession::Release() {
  uint64_t floor = UINT64_MAX;  // every shard has sent everything at or below this
  bool all_ready = true;
  uint64_t replayed_up_to = 0;  // the highest revision any shard's replay may hold
  for (const ShardState& state : states_) {
    floor = std::min(floor, state.watermark);
    all_ready = all_ready && state.ready;
    replayed_up_to = std::max(replayed_up_to, state.ready_revision);
  }
  // Merge the releasable events of every shard in revision order.
  while (!cancelled_) {
    ShardState* next = nullptr;
    for (ShardState& state : states_) {
      if (state.pending.empty() || state.pending.front().revision() > floor) continue;
      if (next == nullptr || state.pending.front().revision() < next->pending.front().revision()) {
        next = &state;
      }
    }
    if (next == nullptr) break;
    v1::WatchEvent event = std::move(next->pending.front());
    next->pending.pop_front();
    pending_bytes_ -= PendingBytes(event);
    last_revision_ = std::max(last_revision_, event.revision());
    ObserveRevision(event.revision());  // a client sees it: later writes must exceed it
    sink_(event);
  }
  // `ready` follows every replayed event (wire-protocol.md: replay, then ready, then live):
  // a busy shard's replay can end above an idle shard's watermark, whose clock then has to
  // catch up (wall time, or a revision it observes) before those events may be released.
  if (all_ready && floor >= replayed_up_to && !ready_sent_ && !cancelled_) {
    ready_sent_ = true;
    v1::WatchEvent ready;
    ready.set_kind(v1::WatchEvent::READY);
    ready.set_revision(floor);
    sink_(ready);
  }
  if (cancelled_) return;
  // What still waits: the newest event held back, and the end of the replays before `ready`.
  uint64_t waiting = 0;
  for (const ShardState& state : states_) {
    if (!state.pending.empty()) waiting = std::max(waiting, state.pending.back().revision());
  }
  if (all_ready && !ready_sent_) waiting = std::max(waiting, replayed_up_to);
  if (waiting > floor) AskForWatermarks(waiting);
}

void WatchSession::AskForWatermarks(uint64_t revision) {
  for (size_t i = 0; i < states_.size(); ++i) {
    ShardState& state = states_[i];
    if (state.watermark >= revision || state.asked >= revision || state.asking ||
        state.client == nullptr) {
      continue;
    }
    state.asking = true;
    state.asked = revision;
    auto request = std::make_unique<v1::BatchRequest>();
    request->set_observed_revision(revision);
    request->add_ops()->set_type(v1::Op::PING);
    // The answer only says the watermark is on its way (it comes on the Watch stream, after
    // the batch); a failed request is not retried for this revision: a shard that is down
    // ends its stream too, and a slow one still sends its 100 ms tick.
    state.client->Execute(
        std::move(request),
        [post = post_, session = weak_from_this(), i](const grpc::Status&, v1::BatchResponse*) {
          post(0, [session, i] {
            if (auto s = session.lock()) s->OnAsked(i);
          });
        },
        kAskDeadlineMs);
  }
}

void WatchSession::OnAsked(size_t index) {
  if (cancelled_) return;
  states_[index].asking = false;
  Release();  // events that arrived meanwhile may need a higher watermark
}

}  // namespace beyondkv::shardlink
