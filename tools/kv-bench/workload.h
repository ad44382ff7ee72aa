// kv-bench: what to send. Parses a command mix ("get:80,set:20"), chooses keys (uniform or
// Zipf) and appends RESP2 request bytes for each command to a connection's output buffer.
//
// Keys are "kvb:" followed by the key index as 10 decimal digits ("kvb:0000000042"), so every
// system under test stores the same names; INCR uses "kvb:ctr:<10 digits>" so it never hits a
// loaded (non-numeric) value.
#ifndef BEYONDKV_TOOLS_KV_BENCH_WORKLOAD_H_
#define BEYONDKV_TOOLS_KV_BENCH_WORKLOAD_H_

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/kv-bench/zipf_sampler.h"

namespace beyondkv::kvbench {

enum class Command { kGet = 0, kSet, kMget, kMset, kIncr, kPing };
constexpr int kNumCommands = 6;

// Lower-case command name: "get", "mset".
const char* CommandName(Command command);

struct MixEntry {
  Command command;
  int weight;  // relative share; > 0
};

// Parses "name:weight[,name:weight...]" with names get, set, mget, mset, incr, ping (any case)
// and positive integer weights. InvalidArgument on anything else, a repeated name, or an
// empty mix.
absl::StatusOr<std::vector<MixEntry>> ParseMix(const std::string& text);

// The inverse of ParseMix: "get:80,set:20".
std::string FormatMix(const std::vector<MixEntry>& mix);

enum class KeyDistribution { kUniform, kZipf };

struct WorkloadOptions {
  std::vector<MixEntry> mix;
  int64_t keys = 100000;  // key indexes are [0, keys)
  int value_bytes = 256;  // SET/MSET value size
  KeyDistribution key_distribution = KeyDistribution::kUniform;
  double zipf_alpha = 0.99;  // Zipf exponent; key index 0 is the hottest
  int keys_per_call = 10;    // keys per MGET, key-value pairs per MSET
};

// Chooses commands and keys with its own generator and encodes requests. One per thread.
class RequestGenerator {
 public:
  // `options` must be valid: non-empty mix, keys >= 1, value_bytes >= 0, keys_per_call >= 1,
  // zipf_alpha > 0 when the distribution is Zipf.
  RequestGenerator(const WorkloadOptions& options, uint64_t seed);

  // Chooses a command by the mix weights.
  Command ChooseCommand();

  // Appends a RESP request for `command` with freshly chosen keys to `out`.
  void AppendRequest(Command command, std::string* out);

  // Appends a request that stores keys [first, first + count): SET when count == 1, else MSET.
  // Returns the command used.
  Command AppendLoad(int64_t first, int64_t count, std::string* out);

  // "kvb:0000000042" for index 42.
  static std::string KeyName(int64_t index);

 private:
  int64_t NextKey();
  void AppendKey(const char* prefix, int64_t index, std::string* out);
  void AppendValue(std::string* out);

  WorkloadOptions options_;
  std::vector<int> cumulative_weights_;  // parallel to options_.mix
  std::mt19937_64 rng_;
  std::optional<ZipfSampler> zipf_;
  std::string value_;         // the bytes every SET/MSET stores
  std::string value_header_;  // "$<value_bytes>\r\n"
};

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_WORKLOAD_H_
