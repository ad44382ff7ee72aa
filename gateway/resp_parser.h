// The request parser of the RESP gateway: turns the bytes a client sends into commands
// (argv vectors), exactly as Redis 7.0 splits its query buffer.
//
// Two request forms are accepted, chosen by the first byte of each request as Redis's
// processInputBuffer does (src/networking.c):
//   - multibulk, when it is '*':  *<argc>\r\n  then argc times  $<len>\r\n<len bytes>\r\n
//     (RESP spec, "Sending commands to a Redis server"; processMultibulkBuffer);
//   - inline, otherwise: one line ended by "\n" or "\r\n", split into words with the quoting
//     rules of sdssplitargs (src/sds.c): "..." knows \n \r \t \b \a \xHH and \<any> escapes,
//     '...' knows only \'; a closing quote must be followed by whitespace or the end of the
//     line (processInlineBuffer).
// Empty multibulks (*0, or any negative count such as *-1) and empty or blank inline lines
// produce no command, as in Redis.
//
// Redis's own leniencies are kept, so that a byte stream means the same here as in Redis:
//   - only the first '\r' of a "*" or "$" line is looked for; the byte after it is skipped
//     without being checked to be '\n';
//   - the two bytes after a bulk's payload are skipped without being checked to be "\r\n".
// Counts are parsed like Redis's string2ll: optional '-', no '+', no spaces, no leading zeros.
//
// Known differences from Redis 7.0 (all on input no real client sends):
//   - A "*"/"$" line or inline line longer than ParserLimits::max_inline_bytes is rejected
//     whatever the read sizes; Redis checks the limit only while the terminator has not
//     arrived, so the same bytes may pass when they come in one large read.
//   - A NUL byte is an ordinary byte everywhere. Redis 7.0 searches lines with strchr(), so a
//     NUL before the terminator stalls the request until the line limit is hit.
//   - A malformed "*"/"$" line is reported when its '\r' arrives; Redis waits for one more
//     byte first.
//   - The default max_multibulk_args (1 Mi) is Redis 6's limit; Redis 7.0 accepts up to
//     INT_MAX arguments.
//
// Memory: a bulk's bytes are appended straight into the argument string (one copy from the
// caller's buffer). Its declared length is reserved up front only up to kMaxBulkReserveBytes;
// beyond that the string grows as data arrives (at least doubling, never past the declared
// length), so a client that declares $500000000 and sends nothing costs at most 1 MiB, and
// memory held never exceeds about twice the bytes actually received.
//
// Thread-safety: none. A RespParser belongs to one connection and is used by one thread at a
// time (the connection's I/O loop).
#ifndef BEYONDKV_GATEWAY_RESP_PARSER_H_
#define BEYONDKV_GATEWAY_RESP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace beyondkv::gateway {

struct ParserLimits {
  // Largest bulk argument in bytes; longer "$" lengths are "invalid bulk length".
  // Redis: proto-max-bulk-len, default 512 MiB.
  size_t max_bulk_bytes = 512 << 20;
  // Largest multibulk argument count; larger "*" counts are "invalid multibulk length".
  // Redis <= 6.2: 1024*1024; Redis 7.0: INT_MAX (never more than INT_MAX here either).
  size_t max_multibulk_args = 1024 * 1024;
  // Longest line in bytes, terminator excluded: an inline request, or a "*"/"$" line
  // including its '*'/'$'. Redis: PROTO_INLINE_MAX_SIZE (64 KiB), which it uses for all three.
  size_t max_inline_bytes = 64 * 1024;
};

// One request's argv: argv[0] is the command name as sent (any case), the rest its arguments.
// Binary-safe. Never empty when produced by RespParser.
using Command = std::vector<std::string>;

class RespParser {
 public:
  // At most this many bytes of a bulk's declared length are reserved before its data arrives.
  static constexpr size_t kMaxBulkReserveBytes = 1 << 20;

  explicit RespParser(ParserLimits limits = {});

  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;

  // Consumes all of `*input` and appends every command it completes to `*out`, in order.
  // The bytes of an incomplete trailing command are copied into the parser, so on OK
  // `*input` is left empty and the caller may discard or reuse its buffer.
  //
  // On a protocol error returns InvalidArgument whose message is Redis's reply text without
  // the "-ERR " prefix, byte for byte (CR and LF in it already replaced by spaces, as
  // Redis's addReplyErrorFormat does), e.g. "Protocol error: invalid multibulk length".
  // Commands completed before the error are still appended to `*out` and `*input` is
  // advanced past them; Redis executes those, replies the error, then closes the connection
  // (CLIENT_CLOSE_AFTER_REPLY), and so must the caller. After an error every later call
  // returns the same status and parses nothing.
  absl::Status Parse(std::string_view* input, std::vector<Command>* out);

  // Bytes held for the incomplete command: arguments and partial line received so far (data,
  // not capacity). 0 between commands. For query-buffer limits and idle checks.
  size_t buffered_bytes() const { return line_.size() + args_bytes_; }

  // Takes back a command's argv once it has run (its strings may have been moved from), so
  // that the next commands' arguments reuse its storage instead of allocating: an MGET of 100
  // keys longer than 15 bytes costs 100 allocations and frees otherwise. At most
  // kMaxSpareBytes of string capacity are kept, in strings of at most kMaxSpareArgBytes,
  // and argv vectors (a pipeline parses several commands before they run) of at most
  // kMaxSpareBytes in all.
  void Recycle(Command&& argv);
  static constexpr size_t kMaxSpareBytes = 4096;
  static constexpr size_t kMaxSpareArgBytes = 256;
  // Bytes kept by Recycle: string capacity plus argv vectors' capacity (each <= kMaxSpareBytes).
  size_t spare_bytes() const { return spare_bytes_ + spare_argv_bytes_; }

 private:
  enum class State {
    kCommandStart,    // between requests; the next byte picks multibulk or inline
    kInlineLine,      // inside an inline request line
    kMultibulkCount,  // inside the "*<argc>" line
    kBulkCount,       // inside a "$<len>" line
    kBulkData,        // inside a bulk payload
    kBulkTrailer,     // skipping the 2 bytes after a payload
    kError,           // a protocol error was returned; the parser is dead
  };

  // Outcome of reading a line piecewise.
  enum class LineResult { kNeedMore, kDone, kError };

  // Reads a "*"/"$" line: through its first '\r' and one more byte. On kDone `*line` holds
  // the line without '\r' (viewing `line_` or `*input`) and the input is advanced past it.
  // On kError sets error_ (message `too_big`).
  LineResult ReadCountLine(std::string_view* input, std::string_view* line,
                           std::string_view too_big);
  // Reads an inline line through its '\n'. On kDone `*line` excludes "\n" / "\r\n".
  LineResult ReadInlineLine(std::string_view* input, std::string_view* line);

  // The fast path, at the start of a request that begins with '*': when the whole multibulk
  // is in `*input` in its plain form (counts without sign or leading zero), appends it to
  // `*out`, advances `*input` past it and returns true; otherwise consumes nothing and
  // returns false, and the state machine below parses it byte for byte as Redis does (the
  // same commands, errors included: tools/fuzz/resp_parser_fuzzer compares the two by
  // feeding the same bytes whole and in pieces).
  bool TakeWholeMultibulk(std::string_view* input, std::vector<Command>* out);

  // Handlers of a complete line. Return false after setting error_.
  bool OnMultibulkCount(std::string_view line);
  bool OnBulkCount(std::string_view line);
  bool OnInlineLine(std::string_view line, std::vector<Command>* out);

  // Appends up to the rest of the current bulk from `*input`, growing within the limits
  // described at the top of this file.
  void ReadBulkData(std::string_view* input);

  void Fail(std::string message);
  // Forgets the current command and returns to kCommandStart.
  void ResetCommand();
  // Empties `line_`, freeing it if one long line grew it.
  void ClearLine();

  const ParserLimits limits_;
  State state_ = State::kCommandStart;
  absl::Status error_;

  std::string line_;         // the partial line while a line straddles calls
  Command args_;             // arguments of the current multibulk so far
  size_t args_bytes_ = 0;    // sum of args_[i].size()
  int64_t args_left_ = 0;    // multibulk arguments not yet started
  int64_t bulk_len_ = 0;     // declared length of the bulk being read
  int trailer_left_ = 0;     // bytes of the payload's trailer still to skip

  std::vector<std::string> spare_args_;  // emptied strings for the next arguments (Recycle)
  size_t spare_bytes_ = 0;               // their capacity
  std::vector<Command> spare_argvs_;     // emptied argv vectors for the next commands
  size_t spare_argv_bytes_ = 0;          // their capacity in bytes
};

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_RESP_PARSER_H_
