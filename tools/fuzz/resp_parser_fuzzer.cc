// libFuzzer target: the RESP request parser (gateway/resp_parser.h) on arbitrary bytes.
//
// Input: the last 4 bytes seed the chunk sizes; the rest is the byte stream a client sends.
// Checks:
//   - parsing the stream in random chunks gives exactly the commands and the status of
//     parsing it in one call (the parser's result must not depend on read sizes);
//   - no command is empty, and buffered_bytes() never exceeds the bytes fed;
//   - after an error, later calls return the same error and parse nothing;
//   - re-encoding the parsed commands as multibulks and parsing those gives the same
//     commands and no error.
// Small limits, so that the limit checks are reached by short inputs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gateway/resp_parser.h"

namespace {

using beyondkv::gateway::Command;
using beyondkv::gateway::ParserLimits;
using beyondkv::gateway::RespParser;

ParserLimits FuzzLimits() {
  ParserLimits limits;
  limits.max_bulk_bytes = 300;
  limits.max_multibulk_args = 64;
  limits.max_inline_bytes = 128;
  return limits;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "resp_parser_fuzzer: invariant failed: %s\n", what);
    abort();
  }
}

struct Outcome {
  std::vector<Command> commands;
  absl::Status status;
};

// Feeds `stream` in chunks whose sizes come from `seed` (0 = one chunk).
Outcome ParseChunked(std::string_view stream, uint32_t seed) {
  RespParser parser(FuzzLimits());
  Outcome o;
  size_t fed = 0;
  uint32_t state = seed;
  while (fed < stream.size()) {
    size_t n = stream.size() - fed;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      // Mostly tiny chunks (1-8 bytes), sometimes larger ones.
      size_t limit = (state >> 28) == 0 ? 256 : 8;
      n = std::min(n, size_t{1} + (state >> 8) % limit);
    }
    std::string chunk(stream.substr(fed, n));  // own copy: ASan sees reads past it
    std::string_view in(chunk);
    absl::Status s = parser.Parse(&in, &o.commands);
    fed += n;
    Check(parser.buffered_bytes() <= fed, "buffered_bytes <= bytes fed");
    if (!s.ok()) {
      Check(absl::IsInvalidArgument(s), "errors are InvalidArgument");
      o.status = s;
      // The parser is dead: same status, nothing parsed.
      std::vector<Command> more;
      std::string_view again("PING\r\n*1\r\n$4\r\nPING\r\n");
      absl::Status s2 = parser.Parse(&again, &more);
      Check(s2 == s, "a dead parser repeats its error");
      Check(more.empty(), "a dead parser parses nothing");
      break;
    }
    Check(in.empty(), "Parse consumes all input on OK");
  }
  for (const Command& c : o.commands) Check(!c.empty(), "commands are never empty");
  return o;
}

std::string Encode(const std::vector<Command>& commands) {
  std::string out;
  for (const Command& c : commands) {
    out += "*" + std::to_string(c.size()) + "\r\n";
    for (const std::string& a : c) {
      out += "$" + std::to_string(a.size()) + "\r\n";
      out += a;
      out += "\r\n";
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint32_t seed = 1;
  if (size >= 4) {
    memcpy(&seed, data + size - 4, 4);
    size -= 4;
    if (seed == 0) seed = 1;
  }
  std::string_view stream(reinterpret_cast<const char*>(data), size);

  Outcome whole = ParseChunked(stream, 0);
  Outcome chunked = ParseChunked(stream, seed);
  Check(whole.status == chunked.status, "status independent of chunking");
  Check(whole.commands == chunked.commands, "commands independent of chunking");

  // Re-encode what was parsed; every argument fits the limits (bulks were checked against
  // max_bulk_bytes, inline words are shorter than max_inline_bytes < max_bulk_bytes; inline
  // lines have fewer than max_inline_bytes / 2 + 1 <= max_multibulk_args words).
  std::string encoded = Encode(whole.commands);
  Outcome again = ParseChunked(encoded, seed);
  Check(again.status.ok(), "re-encoded commands parse without error");
  Check(again.commands == whole.commands, "re-encoded commands parse to the same commands");
  return 0;
}
