// kv-log: offline inspection of a shard's data directory for operators (list, verify, dump).
// Reads the files only (never writes), so it is safe on a copy or next to a stopped shard;
// on a running shard it sees a moment's snapshot and may report the active segment's tail as
// torn. The format is engine/FORMAT.md.
//
// Each command writes a human-readable report to `out` and returns the process exit code:
// 0 = fine, 1 = damage found (verify; list and dump report damage but return 0 unless they
// could not read the directory), 2 = the directory could not be read at all.
//
// Thread-safe: no shared state.
#ifndef BEYONDKV_TOOLS_KV_LOG_KV_LOG_H_
#define BEYONDKV_TOOLS_KV_LOG_KV_LOG_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "engine/env.h"

namespace beyondkv::kvlog {

// Segments per namespace: sequence, active or sealed, size, record counts by type, hint file.
int List(engine::Env* env, const std::string& shard_dir, std::ostream& out);

// Checks the MANIFEST, every segment header and record checksum, and every hint file (its
// checksum and that it matches its segment record for record). Prints each problem with its
// file and offset.
int Verify(engine::Env* env, const std::string& shard_dir, std::ostream& out);

struct DumpOptions {
  std::optional<uint32_t> ns;      // only this namespace
  std::optional<std::string> key;  // only records of this key (and flush records)
  size_t preview_bytes = 32;       // of each value, escaped
};

// Every record in log order: file, offset, type, revision, expiry, key, metadata and value
// lengths and a preview of the value.
int Dump(engine::Env* env, const std::string& shard_dir, const DumpOptions& options,
         std::ostream& out);

}  // namespace beyondkv::kvlog

#endif  // BEYONDKV_TOOLS_KV_LOG_KV_LOG_H_
