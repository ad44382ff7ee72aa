#include "gateway/http/list_pages.h"

#include <algorithm>

#include "gateway/http/base64url.h"

namespace beyondkv::gateway::http {
namespace {

constexpr std::string_view kCursorVersion = "1.";

}  // namespace

std::string EncodeListCursor(std::string_view key) {
  return std::string(kCursorVersion) + Base64UrlEncode(key);
}

absl::StatusOr<std::optional<std::string>> DecodeListCursor(std::string_view cursor) {
  if (cursor.empty() || cursor == "0") return std::optional<std::string>();
  if (cursor.substr(0, kCursorVersion.size()) == kCursorVersion) {
    std::optional<std::string> key = Base64UrlDecode(cursor.substr(kCursorVersion.size()));
    if (key) return key;
  }
  return absl::InvalidArgumentError(
      "invalid `cursor`: pass the next_cursor of a previous page, or omit it to start");
}

MergedPage MergeShardPages(std::vector<ShardPage> pages, size_t limit) {
  // The bound up to which every shard has shown all of its keys.
  std::optional<std::string> bound;
  std::vector<std::string> all;
  for (ShardPage& page : pages) {
    if (page.more && (!bound || page.last_key < *bound)) bound = page.last_key;
    for (std::string& key : page.keys) all.push_back(std::move(key));
  }
  std::sort(all.begin(), all.end());
  MergedPage merged;
  size_t usable = all.size();
  if (bound) {
    usable = std::upper_bound(all.begin(), all.end(), *bound) - all.begin();
  }
  const size_t take = std::min(limit, usable);
  merged.keys.assign(std::make_move_iterator(all.begin()),
                     std::make_move_iterator(all.begin() + take));
  if (take < all.size()) {
    // Keys remain that were seen but not returned: resume after the last one returned, or
    // (nothing returned, all beyond the bound) at the bound.
    merged.resume_after = take > 0 ? merged.keys.back() : *bound;
  } else if (bound) {
    merged.resume_after = *bound;  // every key up to the bound was returned
  }
  return merged;
}

}  // namespace beyondkv::gateway::http
