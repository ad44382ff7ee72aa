#include "engine/manifest.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/crc32c.h"

namespace beyondkv::engine {
namespace {

constexpr absl::string_view kTitle = "beyond-kv shard manifest";
constexpr absl::string_view kCrcPrefix = "crc32c ";

std::string Body(const Manifest& m) {
  return absl::StrCat(kTitle, "\n", "format_version ", m.format_version, "\n", "shard_id ",
                      m.shard_id, "\n", "shard_count ", m.shard_count, "\n");
}

}  // namespace

std::string EncodeManifest(const Manifest& manifest) {
  const std::string body = Body(manifest);
  const uint32_t crc = crc32c::Value(body.data(), body.size());
  return absl::StrCat(body, kCrcPrefix, absl::StrFormat("%08x", crc), "\n");
}

absl::StatusOr<Manifest> DecodeManifest(std::string_view text_in) {
  // Debian's Abseil has its own string_view type; work in it here.
  const absl::string_view text(text_in.data(), text_in.size());
  auto bad = [](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("damaged MANIFEST: ", why));
  };
  const size_t crc_line = text.rfind(kCrcPrefix);
  if (crc_line == absl::string_view::npos || (crc_line > 0 && text[crc_line - 1] != '\n')) {
    return bad("no checksum line");
  }
  const absl::string_view body = text.substr(0, crc_line);
  uint32_t stored_crc = 0;
  absl::string_view hex = text.substr(crc_line + kCrcPrefix.size());
  if (hex.size() != 9 || hex.back() != '\n' ||
      !absl::SimpleHexAtoi(hex.substr(0, 8), &stored_crc)) {
    return bad("malformed checksum line");
  }
  if (stored_crc != crc32c::Value(body.data(), body.size())) return bad("checksum mismatch");

  std::vector<absl::string_view> lines = absl::StrSplit(body, '\n');
  // Title, three fields, and the empty piece after the last newline.
  if (lines.size() != 5 || lines[0] != kTitle || !lines[4].empty()) {
    return bad("unexpected layout");
  }
  Manifest m;
  const std::pair<absl::string_view, uint32_t*> fields[] = {
      {"format_version ", &m.format_version},
      {"shard_id ", &m.shard_id},
      {"shard_count ", &m.shard_count},
  };
  for (size_t i = 0; i < 3; ++i) {
    const auto& [name, out] = fields[i];
    absl::string_view line = lines[i + 1];
    if (line.substr(0, name.size()) != name ||
        !absl::SimpleAtoi(line.substr(name.size()), out)) {
      return bad(absl::StrCat("bad line '", line, "'"));
    }
  }
  // The checksum held, so a mismatch here means a writer bug; still refuse it.
  if (EncodeManifest(m) != text) return bad("non-canonical encoding");
  return m;
}

absl::StatusOr<std::optional<Manifest>> ReadManifest(Env* env, const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kManifestFileName);
  absl::StatusOr<std::string> text = ReadFileToString(env, path);
  if (absl::IsNotFound(text.status())) return std::optional<Manifest>();
  if (!text.ok()) return text.status();
  absl::StatusOr<Manifest> manifest = DecodeManifest(*text);
  if (!manifest.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", manifest.status().message()));
  }
  return std::optional<Manifest>(*manifest);
}

absl::Status WriteManifest(Env* env, const std::string& dir, const Manifest& manifest) {
  return WriteFileAtomically(env, absl::StrCat(dir, "/", kManifestFileName),
                             EncodeManifest(manifest));
}

}  // namespace beyondkv::engine
