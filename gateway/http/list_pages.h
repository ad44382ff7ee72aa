// Key listing across shards (architecture §7): each shard returns its next keys after the
// cursor in order, and the gateway merges them into one page in lexicographic order. The
// cursor is stateless, so any gateway can continue it: it encodes the last key examined.
#ifndef BEYONDKV_GATEWAY_HTTP_LIST_PAGES_H_
#define BEYONDKV_GATEWAY_HTTP_LIST_PAGES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace beyondkv::gateway::http {

// The opaque cursor that resumes a listing strictly after `key`: "1." + base64url(key).
// The "1." versions the format; '.' is outside base64url, so no key's cursor is "0" or "".
std::string EncodeListCursor(std::string_view key);

// The key a cursor resumes after; nullopt for the start ("" or "0"). InvalidArgument for
// anything EncodeListCursor does not produce.
absl::StatusOr<std::optional<std::string>> DecodeListCursor(std::string_view cursor);

// One shard's answer to SCAN (proto/shard.proto): its keys in order, and whether it has more
// after `last_key`, the last key it examined.
struct ShardPage {
  std::vector<std::string> keys;
  bool more = false;
  std::string last_key;
};

struct MergedPage {
  std::vector<std::string> keys;            // at most `limit`, in lexicographic order
  std::optional<std::string> resume_after;  // set when keys may remain: the next cursor's key
};

// Merges the shards' pages of one listing, each asked for at most `limit` keys. A shard with
// more keys has only shown those up to its last_key, so the page stops at the smallest such
// last_key: a key of another shard beyond it could otherwise come before a key not yet seen.
MergedPage MergeShardPages(std::vector<ShardPage> pages, size_t limit);

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_LIST_PAGES_H_
