#include "common/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "gtest/gtest.h"

namespace beyondkv {
namespace {

TEST(SocketAddressTest, FormatsIpv4AndIpv6) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  in->sin_family = AF_INET;
  in->sin_port = htons(6379);
  ASSERT_EQ(inet_pton(AF_INET, "127.0.0.1", &in->sin_addr), 1);
  EXPECT_EQ(FormatSocketAddress(storage), "127.0.0.1:6379");

  std::memset(&storage, 0, sizeof(storage));
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(4869);
  ASSERT_EQ(inet_pton(AF_INET6, "::1", &in6->sin6_addr), 1);
  const HostPort hp = SplitSocketAddress(storage);
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 4869);
}

TEST(SocketAddressTest, OtherFamiliesAreAQuestionMark) {
  sockaddr_storage storage{};
  storage.ss_family = AF_UNIX;
  EXPECT_EQ(FormatSocketAddress(storage), "?:0");
}

}  // namespace
}  // namespace beyondkv
