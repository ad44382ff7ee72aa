#include "tools/kv-bench/workload.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace beyondkv::kvbench {
namespace {

constexpr std::array<const char*, kNumCommands> kNames = {"get",  "set",  "mget",
                                                          "mset", "incr", "ping"};
constexpr int kKeyDigits = 10;

void AppendArrayHeader(int64_t elements, std::string* out) {
  out->push_back('*');
  out->append(std::to_string(elements));
  out->append("\r\n");
}

// A bulk string whose text is a literal.
void AppendBulk(const char* text, std::string* out) {
  const size_t len = std::char_traits<char>::length(text);
  out->push_back('$');
  out->append(std::to_string(len));
  out->append("\r\n");
  out->append(text, len);
  out->append("\r\n");
}

}  // namespace

const char* CommandName(Command command) { return kNames[static_cast<int>(command)]; }

absl::StatusOr<std::vector<MixEntry>> ParseMix(const std::string& text) {
  std::vector<MixEntry> mix;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(begin, end - begin);
    const size_t colon = item.find(':');
    int weight = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(item.substr(colon + 1), &weight) ||
        weight <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("mix item '", item, "' is not name:weight with a positive weight"));
    }
    std::string name = item.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const auto it =
        std::find_if(kNames.begin(), kNames.end(), [&](const char* n) { return name == n; });
    if (it == kNames.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown command '", name, "' in mix (known: get, set, mget, mset, incr, ping)"));
    }
    const Command command = static_cast<Command>(it - kNames.begin());
    for (const MixEntry& e : mix) {
      if (e.command == command) {
        return absl::InvalidArgumentError(absl::StrCat("command '", name, "' repeated in mix"));
      }
    }
    mix.push_back({command, weight});
    begin = end + 1;
  }
  if (mix.empty()) return absl::InvalidArgumentError("empty mix");
  return mix;
}

std::string FormatMix(const std::vector<MixEntry>& mix) {
  std::string out;
  for (const MixEntry& e : mix) {
    absl::StrAppend(&out, out.empty() ? "" : ",", CommandName(e.command), ":", e.weight);
  }
  return out;
}

RequestGenerator::RequestGenerator(const WorkloadOptions& options, uint64_t seed)
    : options_(options), rng_(seed) {
  int total = 0;
  for (const MixEntry& e : options_.mix) {
    total += e.weight;
    cumulative_weights_.push_back(total);
  }
  if (options_.key_distribution == KeyDistribution::kZipf) {
    zipf_.emplace(options_.keys, options_.zipf_alpha);
  }
  // Printable, varied bytes: a server that compresses values gains nothing from runs.
  std::mt19937_64 value_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  value_.resize(options_.value_bytes);
  for (char& c : value_) c = kAlphabet[value_rng() % (sizeof(kAlphabet) - 1)];
  value_header_ = absl::StrCat("$", options_.value_bytes, "\r\n");
}

std::string RequestGenerator::KeyName(int64_t index) {
  std::string out;
  std::string digits = std::to_string(index);
  out.reserve(4 + kKeyDigits);
  out.append("kvb:");
  if (digits.size() < kKeyDigits) out.append(kKeyDigits - digits.size(), '0');
  out.append(digits);
  return out;
}

int64_t RequestGenerator::NextKey() {
  if (zipf_) return zipf_->Sample(rng_) - 1;
  return static_cast<int64_t>(rng_() % static_cast<uint64_t>(options_.keys));
}

void RequestGenerator::AppendKey(const char* prefix, int64_t index, std::string* out) {
  const size_t prefix_len = std::char_traits<char>::length(prefix);
  char digits[20];
  int n = 0;
  uint64_t v = static_cast<uint64_t>(index);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  const int width = std::max(n, kKeyDigits);
  out->push_back('$');
  out->append(std::to_string(prefix_len + width));
  out->append("\r\n");
  out->append(prefix, prefix_len);
  out->append(width - n, '0');
  while (n > 0) out->push_back(digits[--n]);
  out->append("\r\n");
}

void RequestGenerator::AppendValue(std::string* out) {
  out->append(value_header_);
  out->append(value_);
  out->append("\r\n");
}

Command RequestGenerator::ChooseCommand() {
  const int pick = static_cast<int>(rng_() % static_cast<uint64_t>(cumulative_weights_.back()));
  const size_t i = std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), pick) -
                   cumulative_weights_.begin();
  return options_.mix[i].command;
}

void RequestGenerator::AppendRequest(Command command, std::string* out) {
  const int n = options_.keys_per_call;
  switch (command) {
    case Command::kGet:
      AppendArrayHeader(2, out);
      AppendBulk("GET", out);
      AppendKey("kvb:", NextKey(), out);
      break;
    case Command::kSet:
      AppendArrayHeader(3, out);
      AppendBulk("SET", out);
      AppendKey("kvb:", NextKey(), out);
      AppendValue(out);
      break;
    case Command::kMget:
      AppendArrayHeader(1 + n, out);
      AppendBulk("MGET", out);
      for (int k = 0; k < n; ++k) AppendKey("kvb:", NextKey(), out);
      break;
    case Command::kMset:
      AppendArrayHeader(1 + 2 * int64_t{n}, out);
      AppendBulk("MSET", out);
      for (int k = 0; k < n; ++k) {
        AppendKey("kvb:", NextKey(), out);
        AppendValue(out);
      }
      break;
    case Command::kIncr:
      AppendArrayHeader(2, out);
      AppendBulk("INCR", out);
      AppendKey("kvb:ctr:", NextKey(), out);
      break;
    case Command::kPing:
      AppendArrayHeader(1, out);
      AppendBulk("PING", out);
      break;
  }
}

Command RequestGenerator::AppendLoad(int64_t first, int64_t count, std::string* out) {
  const bool single = count == 1;
  AppendArrayHeader(1 + 2 * count, out);
  AppendBulk(single ? "SET" : "MSET", out);
  for (int64_t k = first; k < first + count; ++k) {
    AppendKey("kvb:", k, out);
    AppendValue(out);
  }
  return single ? Command::kSet : Command::kMset;
}

}  // namespace beyondkv::kvbench
