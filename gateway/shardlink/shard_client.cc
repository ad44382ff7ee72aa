#include "gateway/shardlink/shard_client.h"

#include <chrono>
#include <climits>
#include <utility>

#include "gateway/shardlink/batch.h"

namespace beyondkv::shardlink {
namespace {

struct Call {
  grpc::ClientContext context;
  std::unique_ptr<v1::BatchRequest> request;
  v1::BatchResponse response;
  ShardClient::Done done;
};

}  // namespace

ShardClient::ShardClient(uint32_t shard, const std::string& socket_path) : shard_(shard) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(INT_MAX);
  args.SetMaxSendMessageSize(INT_MAX);
  // Reconnect to a restarted shard soon: 100 ms, doubling to 1 s. (A shard that is down
  // refuses the connect at once, so calls fail fast whatever the timeout below.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // gRPC core reads this as the minimum *connect timeout* (doc/connection-backoff.md,
  // MIN_CONNECT_TIMEOUT), not as a backoff: at 100 ms, a shard whose gRPC server took longer
  // to send its HTTP/2 SETTINGS (under ASan on a busy machine) failed the call with
  // "connection attempt timed out before receiving SETTINGS frame".
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  channel_ = grpc::CreateCustomChannel("unix:" + socket_path, grpc::InsecureChannelCredentials(),
                                       args);
  stub_ = v1::Shard::NewStub(channel_);
}

ShardClient::~ShardClient() {
  absl::MutexLock lock(&mu_);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_calls_ == 0; };
  mu_.AwaitWithTimeout(absl::Condition(&ended), kMaxEndWait);
}

void ShardClient::BeginCall() {
  absl::MutexLock lock(&mu_);
  ++live_calls_;
}

void ShardClient::EndCall() {
  absl::MutexLock lock(&mu_);
  --live_calls_;  // the destructor may return (and free this) once we unlock
}

void ShardClient::Execute(std::unique_ptr<v1::BatchRequest> request, Done done,
                          int64_t deadline_ms) {
  BeginCall();
  auto* call = new Call;
  call->request = std::move(request);
  call->request->set_observed_revision(ObservedRevision());
  call->done = std::move(done);
  call->context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(deadline_ms));
  stub_->async()->Execute(&call->context, call->request.get(), &call->response,
                          [this, call](grpc::Status status) {
                            // Every gRPC caller's answers count for causality (§6), not
                            // only those that go through DeliverResults.
                            if (status.ok()) ObserveRevision(call->response.high_revision());
                            call->done(status, &call->response);
                            delete call;  // its ClientContext holds the channel
                            EndCall();
                          });
}

}  // namespace beyondkv::shardlink
