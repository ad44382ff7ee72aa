// kv-bench: splits a stream of RESP2 replies into whole replies and tells error replies apart,
// without building reply objects. The parsing is hiredis's (redisReader); the object callbacks
// only note whether the top-level reply is an error, so a 100-value MGET reply costs no
// allocation.
//
// Not thread-safe; one per connection.
#ifndef BEYONDKV_TOOLS_KV_BENCH_REPLY_READER_H_
#define BEYONDKV_TOOLS_KV_BENCH_REPLY_READER_H_

#include <cstddef>
#include <string>

struct redisReader;
struct redisReadTask;

namespace beyondkv::kvbench {

class ReplyReader {
 public:
  enum class Result {
    kNeedMore,       // no whole reply buffered yet: Feed more bytes
    kReply,          // one reply that is not an error
    kErrorReply,     // one "-ERR ..." reply; its text is in last_error()
    kProtocolError,  // the stream is not RESP2; the reader cannot continue
  };

  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Appends bytes received from the server.
  void Feed(const char* data, size_t size);

  // Consumes the next whole reply, if one is buffered.
  Result Next();

  // Text of the last error reply (kErrorReply) or the parser's message (kProtocolError).
  const std::string& last_error() const { return last_error_; }

 private:
  static void* CreateString(const redisReadTask* task, char* str, size_t len);
  static void* CreateArray(const redisReadTask* task, int elements);
  static void* CreateInteger(const redisReadTask* task, long long value);
  static void* CreateNil(const redisReadTask* task);
  static void FreeObject(void* object);

  redisReader* reader_;
  bool top_level_error_ = false;
  std::string last_error_;
};

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_REPLY_READER_H_
