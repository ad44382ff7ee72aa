// Debian's Abseil has its own absl::string_view, which does not convert to or from
// std::string_view: these two spell the conversion.
#ifndef BEYONDKV_GATEWAY_HTTP_STRINGS_H_
#define BEYONDKV_GATEWAY_HTTP_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace beyondkv::gateway::http {

inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace beyondkv::gateway::http

#endif  // BEYONDKV_GATEWAY_HTTP_STRINGS_H_
