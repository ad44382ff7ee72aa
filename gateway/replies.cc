#include "gateway/replies.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace beyondkv::gateway {
namespace {

// Debian's Abseil is built with its own string_view type, distinct from std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

std::string WrongArity(std::string_view name) {
  return absl::StrCat("ERR wrong number of arguments for '", AV(name), "' command");
}

std::string UnknownCommand(const std::vector<std::string>& argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    absl::StrAppend(&args, "'", AV(std::string_view(argv[i]).substr(0, 128 - args.size())),
                    "' ");
  }
  return absl::StrCat("ERR unknown command '", AV(std::string_view(argv[0]).substr(0, 128)),
                      "', with args beginning with: ", args);
}

std::string UnknownSubcommand(std::string_view subcommand, std::string_view command) {
  return absl::StrCat("ERR unknown subcommand '", AV(subcommand.substr(0, 128)), "'. Try ",
                      absl::AsciiStrToUpper(AV(command)), " HELP.");
}

void ReplyOpError(RespWriter& out, const v1::OpResult& result) {
  out.Error(absl::StrCat("ERR ", result.message().empty() ? "internal error" : result.message()));
}

std::string ToLower(std::string_view text) { return absl::AsciiStrToLower(AV(text)); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AV(a), AV(b));
}

}  // namespace beyondkv::gateway
