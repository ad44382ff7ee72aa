// Reply encoding of the RESP gateway: appends RESP2 or RESP3 replies to a caller's buffer.
//
// The protocol version is the connection's (2 by default, 3 after HELLO 3). Each method
// writes the RESP3 type when the version is 3 and Redis's RESP2 fallback otherwise, as the
// addReply* functions of Redis's src/networking.c do (RESP3 spec:
// https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md):
//
//   method          RESP3                    RESP2
//   Simple          +text                    +text
//   Error           -text                    -text
//   Integer         :n                       :n
//   Bulk            $len bulk                $len bulk
//   Null            _                        $-1
//   NullArray       _                        *-1
//   ArrayHeader     *n                       *n
//   MapHeader       %n  (n key/value pairs)  *2n
//   SetHeader       ~n                       *n
//   PushHeader      >n                       *n
//   Double          ,<%.17g|inf|-inf|nan>    bulk of the same text
//   Boolean         #t / #f                  :1 / :0
//   Verbatim        =len fmt:text            bulk of text
//
// Aggregate headers only announce a count; the caller then writes exactly that many
// elements (2n for a map: key, value, key, value, ...). Nothing is checked.
//
// Thread-safety: none; a writer and its buffer belong to one connection's I/O thread.
#ifndef BEYONDKV_GATEWAY_RESP_WRITER_H_
#define BEYONDKV_GATEWAY_RESP_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace beyondkv::gateway {

class RespWriter {
 public:
  // Appends to `*out`, which must outlive the writer. `protocol` is the RESP version, 2 or 3
  // (ClientState::protocol); any value other than 3 encodes RESP2.
  RespWriter(std::string* out, int protocol);

  // HELLO switches the version before its own reply is written, as Redis does.
  void set_protocol(int protocol) { protocol_ = protocol; }
  int protocol() const { return protocol_; }

  // Simple string: "+text\r\n". CR and LF in `text` are replaced by spaces so the reply
  // cannot break framing (Redis trusts its callers here and replaces them only in errors).
  void Simple(std::string_view text);

  // Error: "-text\r\n". `text` is the full message including its code, e.g.
  // "ERR unknown command 'FOO'..." or "WRONGTYPE Operation against a key holding the wrong
  // kind of value". CR and LF become spaces, as in Redis's addReplyErrorLength callers.
  void Error(std::string_view text);

  void Integer(int64_t value);                 // ":value\r\n"
  void Bulk(std::string_view value);           // "$len\r\nvalue\r\n", binary-safe
  void Null();                                 // missing value: "$-1" / "_"
  void NullArray();                            // missing aggregate: "*-1" / "_"
  void ArrayHeader(int64_t count);
  void MapHeader(int64_t pairs);               // `pairs` key/value pairs follow
  void SetHeader(int64_t count);
  void PushHeader(int64_t count);              // out-of-band data (pub/sub messages)

  // Redis's addReplyDouble: "%.17g", infinities as "inf"/"-inf"; NaN as "nan".
  void Double(double value);

  void Boolean(bool value);

  // Verbatim string; `format` is the 3-byte type, "txt" or "mkd". RESP2 sends only `text`.
  void Verbatim(std::string_view format, std::string_view text);

 private:
  bool resp3() const { return protocol_ == 3; }
  void AggregateHeader(char type, int64_t count);
  // Appends `text` with CR and LF replaced by spaces.
  void AppendLine(char type, std::string_view text);

  std::string* out_;
  int protocol_;
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_RESP_WRITER_H_
