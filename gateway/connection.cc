#include "gateway/connection.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace beyondkv::gateway {

std::string FormatClientInfo(const ClientState& c, int fd) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  return absl::StrCat("id=", c.id, " addr=", c.peer, " laddr=", c.local, " fd=", fd,
                      " name=", c.name, " age=", (now - c.created_ms) / 1000,
                      " idle=", (now - c.last_active_ms) / 1000, " flags=N db=", c.db,
                      " sub=0 psub=0 ssub=0 multi=-1 cmd=", c.last_command.empty() ? "NULL" : c.last_command,
                      " user=default resp=", c.protocol, "\n");
}

}  // namespace beyondkv::gateway
