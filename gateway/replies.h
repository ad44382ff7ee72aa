// Reply texts and argument parsing shared by every command, so that each error reads the
// same everywhere and byte for byte as Redis 7.0 writes it (Redis keeps them as shared
// objects in server.c for the same reason).
#ifndef BEYONDKV_GATEWAY_REPLIES_H_
#define BEYONDKV_GATEWAY_REPLIES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/numbers.h"
#include "gateway/resp_writer.h"
#include "proto/shard.pb.h"

namespace beyondkv::gateway {

inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kErrDbIndex = "ERR DB index is out of range";
inline constexpr std::string_view kErrWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

// "ERR wrong number of arguments for 'get' command"; `name` is the lower-case full name
// ("client|setname" for subcommands).
std::string WrongArity(std::string_view name);

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' " (Redis's format, args
// truncated at 128 bytes in all).
std::string UnknownCommand(const std::vector<std::string>& argv);

// "ERR unknown subcommand 'foo'. Try CLIENT HELP."
std::string UnknownSubcommand(std::string_view subcommand, std::string_view command);

// Writes the RESP error for a failed shard op (INVALID_ARGUMENT, INTERNAL); the message
// already names the cause (for example "shard 2 unavailable: ...").
void ReplyOpError(RespWriter& out, const v1::OpResult& result);

// ASCII lower-case copy.
std::string ToLower(std::string_view text);

// Case-insensitive ASCII equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace beyondkv::gateway

#endif  // BEYONDKV_GATEWAY_REPLIES_H_
