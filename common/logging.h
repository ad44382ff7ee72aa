// Process-wide logging set-up shared by every beyond-kv binary: glog to stderr, each line
// tagged with the process and, for shards, the shard index, e.g.
//   I1127 10:45:06.123456 kv-shard[2] main.cc:42] listening on unix:/data/run/shard-2.sock
#ifndef BEYONDKV_COMMON_LOGGING_H_
#define BEYONDKV_COMMON_LOGGING_H_

#include <string>

namespace beyondkv {

// Call once, first thing in main(). `tag` names the process ("kv-shard[2]", "beyond-kv").
// Not thread-safe; later calls are ignored.
void InitLogging(const char* argv0, const std::string& tag);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_LOGGING_H_
