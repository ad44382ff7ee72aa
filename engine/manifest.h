// The shard directory's MANIFEST: which shard of how many the directory belongs to, and the
// format version (engine/FORMAT.md "Manifest"). A small text file, readable with cat, ending
// in a CRC32C line so damage is detected; replaced only atomically (temp file, fdatasync,
// rename, fsync of the directory).
//
// Thread-safe: pure functions; the file functions touch only `dir`/MANIFEST.
#ifndef BEYONDKV_ENGINE_MANIFEST_H_
#define BEYONDKV_ENGINE_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/env.h"

namespace beyondkv::engine {

inline constexpr char kManifestFileName[] = "MANIFEST";

struct Manifest {
  uint32_t format_version = 0;
  uint32_t shard_id = 0;
  uint32_t shard_count = 0;
};

std::string EncodeManifest(const Manifest& manifest);

// DataLoss if `text` is not exactly what EncodeManifest produces for some manifest (wrong
// lines, numbers or checksum).
absl::StatusOr<Manifest> DecodeManifest(std::string_view text);

// Reads `dir`/MANIFEST: nullopt if it does not exist, DataLoss if it is damaged.
absl::StatusOr<std::optional<Manifest>> ReadManifest(Env* env, const std::string& dir);

// Writes `dir`/MANIFEST durably and atomically.
absl::Status WriteManifest(Env* env, const std::string& dir, const Manifest& manifest);

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_MANIFEST_H_
