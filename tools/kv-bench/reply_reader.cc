#include "tools/kv-bench/reply_reader.h"

#include <hiredis/read.h>

namespace beyondkv::kvbench {
namespace {

// hiredis treats a null object as out-of-memory, so every callback returns this.
char kNoReplyObject;

}  // namespace

ReplyReader::ReplyReader() {
  static redisReplyObjectFunctions functions = {&CreateString, &CreateArray, &CreateInteger,
                                                &CreateNil, &FreeObject};
  reader_ = redisReaderCreateWithFunctions(&functions);
  reader_->privdata = this;
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

void ReplyReader::Feed(const char* data, size_t size) { redisReaderFeed(reader_, data, size); }

ReplyReader::Result ReplyReader::Next() {
  top_level_error_ = false;
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
    last_error_ = reader_->errstr;
    return Result::kProtocolError;
  }
  if (reply == nullptr) return Result::kNeedMore;
  return top_level_error_ ? Result::kErrorReply : Result::kReply;
}

void* ReplyReader::CreateString(const redisReadTask* task, char* str, size_t len) {
  if (task->type == REDIS_REPLY_ERROR && task->parent == nullptr) {
    auto* self = static_cast<ReplyReader*>(task->privdata);
    self->top_level_error_ = true;
    self->last_error_.assign(str, len);
  }
  return &kNoReplyObject;
}

void* ReplyReader::CreateArray(const redisReadTask*, int) { return &kNoReplyObject; }
void* ReplyReader::CreateInteger(const redisReadTask*, long long) { return &kNoReplyObject; }
void* ReplyReader::CreateNil(const redisReadTask*) { return &kNoReplyObject; }
void ReplyReader::FreeObject(void*) {}

}  // namespace beyondkv::kvbench
