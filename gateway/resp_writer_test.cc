#include "gateway/resp_writer.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace beyondkv::gateway {
namespace {

using namespace std::string_literals;

// Encodes with `write` in RESP2 and RESP3 and returns both.
template <typename Fn>
std::pair<std::string, std::string> Encode(Fn write) {
  std::string v2, v3;
  RespWriter w2(&v2, 2), w3(&v3, 3);
  write(w2);
  write(w3);
  return {v2, v3};
}

using Pair = std::pair<std::string, std::string>;

TEST(RespWriterTest, SameInBothVersions) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.Simple("OK"); }), Pair("+OK\r\n", "+OK\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Error("WRONGTYPE Operation"); }),
            Pair("-WRONGTYPE Operation\r\n", "-WRONGTYPE Operation\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Integer(-42); }), Pair(":-42\r\n", ":-42\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Integer(INT64_MIN); }),
            Pair(":-9223372036854775808\r\n", ":-9223372036854775808\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Bulk("a\0\r\nb"s); }),
            Pair("$5\r\na\0\r\nb\r\n"s, "$5\r\na\0\r\nb\r\n"s));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Bulk(""); }), Pair("$0\r\n\r\n", "$0\r\n\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.ArrayHeader(3); }), Pair("*3\r\n", "*3\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.ArrayHeader(0); }), Pair("*0\r\n", "*0\r\n"));
}

TEST(RespWriterTest, ErrorAndSimpleReplaceLineBreaks) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.Error("ERR bad\r\nthing\n"); }),
            Pair("-ERR bad  thing \r\n", "-ERR bad  thing \r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Simple("a\rb"); }), Pair("+a b\r\n", "+a b\r\n"));
}

TEST(RespWriterTest, Nulls) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.Null(); }), Pair("$-1\r\n", "_\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.NullArray(); }), Pair("*-1\r\n", "_\r\n"));
}

TEST(RespWriterTest, AggregateHeaders) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.MapHeader(2); }), Pair("*4\r\n", "%2\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.SetHeader(3); }), Pair("*3\r\n", "~3\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.PushHeader(3); }), Pair("*3\r\n", ">3\r\n"));
}

TEST(RespWriterTest, Doubles) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(1.5); }), Pair("$3\r\n1.5\r\n", ",1.5\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(0.1); }),
            Pair("$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(3); }), Pair("$1\r\n3\r\n", ",3\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(-0.0); }), Pair("$2\r\n-0\r\n", ",-0\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(1e21); }),
            Pair("$5\r\n1e+21\r\n", ",1e+21\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(INFINITY); }),
            Pair("$3\r\ninf\r\n", ",inf\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(-INFINITY); }),
            Pair("$4\r\n-inf\r\n", ",-inf\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(std::numeric_limits<double>::quiet_NaN()); }),
            Pair("$3\r\nnan\r\n", ",nan\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Double(-std::numeric_limits<double>::quiet_NaN()); }),
            Pair("$3\r\nnan\r\n", ",nan\r\n"));
}

TEST(RespWriterTest, Booleans) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.Boolean(true); }), Pair(":1\r\n", "#t\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Boolean(false); }), Pair(":0\r\n", "#f\r\n"));
}

TEST(RespWriterTest, Verbatim) {
  EXPECT_EQ(Encode([](RespWriter& w) { w.Verbatim("txt", "Some string"); }),
            Pair("$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n"));
  EXPECT_EQ(Encode([](RespWriter& w) { w.Verbatim("mkd", ""); }),
            Pair("$0\r\n\r\n", "=4\r\nmkd:\r\n"));
}

TEST(RespWriterTest, AppendsAndSwitchesVersion) {
  std::string out = "prefix|";
  RespWriter w(&out, 2);
  EXPECT_EQ(w.protocol(), 2);
  w.MapHeader(1);
  w.Bulk("k");
  w.Null();
  w.set_protocol(3);  // HELLO 3 replies in RESP3
  EXPECT_EQ(w.protocol(), 3);
  w.MapHeader(1);
  w.Bulk("k");
  w.Null();
  EXPECT_EQ(out, "prefix|*2\r\n$1\r\nk\r\n$-1\r\n%1\r\n$1\r\nk\r\n_\r\n");
}

}  // namespace
}  // namespace beyondkv::gateway
