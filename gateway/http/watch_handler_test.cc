#include "gateway/http/watch_handler.h"

#include <gtest/gtest.h>

namespace beyondkv::gateway::http {
namespace {

v1::WatchEvent Event(v1::WatchEvent::Kind kind, std::string key, std::string value,
                     uint64_t revision) {
  v1::WatchEvent e;
  e.set_kind(kind);
  e.set_key(std::move(key));
  e.set_value(std::move(value));
  e.set_revision(revision);
  return e;
}

TEST(EncodeSseEventTest, SetCarriesTheRevisionAsIdAndTheValueInBase64Url) {
  v1::WatchEvent e = Event(v1::WatchEvent::SET, "a/\"b\"", std::string("\xfb\xff\0", 3),
                           18446744073709551615ull);
  EXPECT_EQ(EncodeSseEvent(e, 0),
            "id: 18446744073709551615\ndata: {\"type\":\"set\",\"key\":\"a/\\\"b\\\"\","
            "\"value\":\"-_8A\",\"revision\":18446744073709551615}\n\n");
  e.set_expire_at_ms(10'600);
  e.set_metadata("{\"m\": [1]}");
  EXPECT_EQ(EncodeSseEvent(e, 1'000),
            "id: 18446744073709551615\ndata: {\"type\":\"set\",\"key\":\"a/\\\"b\\\"\","
            "\"value\":\"-_8A\",\"revision\":18446744073709551615,\"ttl\":10,\"ttl_ms\":9600,"
            "\"metadata\":{\"m\": [1]}}\n\n");
  e.set_metadata("not json\n");
  EXPECT_NE(EncodeSseEvent(e, 1'000).find("\"metadata\":\"not json\\n\"}"), std::string::npos);
}

TEST(EncodeSseEventTest, DelFlushReadyAndKeysThatAreNotUtf8) {
  EXPECT_EQ(EncodeSseEvent(Event(v1::WatchEvent::DEL, "k", "", 7), 0),
            "id: 7\ndata: {\"type\":\"del\",\"key\":\"k\",\"revision\":7}\n\n");
  EXPECT_EQ(EncodeSseEvent(Event(v1::WatchEvent::FLUSH, "", "", 9), 0),
            "id: 9\ndata: {\"type\":\"flush\",\"revision\":9}\n\n");
  EXPECT_EQ(EncodeSseEvent(Event(v1::WatchEvent::READY, "", "", 9), 0),
            "data: {\"type\":\"ready\"}\n\n");
  EXPECT_EQ(EncodeSseEvent(Event(v1::WatchEvent::WATERMARK, "", "", 9), 0), "");
  // A newline in a key cannot break the framing: JSON escapes it.
  EXPECT_EQ(EncodeSseEvent(Event(v1::WatchEvent::DEL, "a\nb\xff", "", 3), 0),
            "id: 3\ndata: {\"type\":\"del\",\"key\":\"a\\nb\xef\xbf\xbd\","
            "\"key_base64url\":\"YQpi_w\",\"revision\":3}\n\n");
}

}  // namespace
}  // namespace beyondkv::gateway::http
