// GET /metrics against a real beyond-kv: the text parses as Prometheus exposition format
// 0.0.4 (a parser here checks names, labels, values, TYPE lines and histogram invariants),
// and its counters, histograms and gauges move as requests run.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/http_test_server.h"

namespace beyondkv::testing {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram | ...
  std::vector<Sample> samples;
  std::vector<std::string> errors;

  // Sum of the samples of `name` whose labels include `match`.
  double Sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double sum = 0;
    for (const Sample& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) ok = ok && s.labels.count(k) && s.labels.at(k) == v;
      if (ok) sum += s.value;
    }
    return sum;
  }
  size_t Count(const std::string& name) const {
    size_t n = 0;
    for (const Sample& s : samples) n += s.name == name;
    return n;
  }
};

// The family a sample belongs to: histogram samples carry _bucket/_sum/_count suffixes.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return name;
}

// A parser of the Prometheus text exposition format (version 0.0.4).
Exposition ParsePrometheus(const std::string& text) {
  Exposition e;
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  std::set<std::string> finished_families;  // families whose samples ended
  std::string current_family;
  std::set<std::string> series;
  size_t line_no = 0;
  size_t pos = 0;
  if (text.empty() || text.back() != '\n') e.errors.push_back("does not end with a newline");
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    auto fail = [&](const std::string& what) {
      e.errors.push_back("line " + std::to_string(line_no) + ": " + what + ": " + line);
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::smatch m;
      static const std::regex kType("# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)");
      static const std::regex kHelp("# HELP ([^ ]+) .*");
      if (std::regex_match(line, m, kType)) {
        const std::string name = m[1];
        if (!std::regex_match(name, kName)) fail("bad metric name");
        if (e.types.count(name)) fail("second TYPE line");
        for (const Sample& s : e.samples) {
          if (FamilyOf(s.name, e.types) == name) fail("TYPE after samples");
        }
        e.types[name] = m[2];
      } else if (line.rfind("# TYPE", 0) == 0) {
        fail("malformed TYPE");
      } else if (line.rfind("# HELP", 0) == 0 && !std::regex_match(line, m, kHelp)) {
        fail("malformed HELP");
      }
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!std::regex_match(s.name, kName)) {
      fail("bad metric name");
      continue;
    }
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          fail("bad label");
          break;
        }
        const std::string label = line.substr(i, eq - i);
        if (!std::regex_match(label, kLabelName)) fail("bad label name " + label);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            const char c = line[++j];
            if (c == 'n') {
              value += '\n';
            } else if (c == '\\' || c == '"') {
              value += c;
            } else {
              fail("bad escape");
            }
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) {
          fail("unterminated label value");
          break;
        }
        if (s.labels.count(label)) fail("duplicate label " + label);
        s.labels[label] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) {
        fail("unterminated labels");
        continue;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no value");
      continue;
    }
    std::string value = line.substr(i + 1);
    const size_t space = value.find(' ');
    if (space != std::string::npos) value = value.substr(0, space);  // a timestamp follows
    if (value == "+Inf") {
      s.value = INFINITY;
    } else if (value == "-Inf") {
      s.value = -INFINITY;
    } else if (value == "NaN") {
      s.value = NAN;
    } else {
      char* endp = nullptr;
      s.value = std::strtod(value.c_str(), &endp);
      if (value.empty() || *endp != '\0') fail("bad value");
    }
    const std::string family = FamilyOf(s.name, e.types);
    if (e.types.count(family) == 0) fail("sample without TYPE");
    if (family != current_family) {
      if (finished_families.count(family)) fail("samples of a family are not contiguous");
      if (!current_family.empty()) finished_families.insert(current_family);
      current_family = family;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    if (!series.insert(key).second) fail("duplicate series");
    if (e.types[family] == "counter" && !(s.value >= 0)) fail("negative counter");
    e.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets ending in +Inf == _count, per label set.
  for (const auto& [family, type] : e.types) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;  // labels -> (le, n)
    std::map<std::string, double> counts;
    for (const Sample& s : e.samples) {
      std::string key;
      for (const auto& [k, v] : s.labels) {
        if (k != "le") key += k + "=" + v + ",";
      }
      if (s.name == family + "_bucket") {
        if (!s.labels.count("le")) {
          e.errors.push_back(family + ": bucket without le");
          continue;
        }
        const std::string le = s.labels.at("le");
        buckets[key].emplace_back(le == "+Inf" ? INFINITY : std::stod(le), s.value);
      } else if (s.name == family + "_count") {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, list] : buckets) {
      for (size_t i = 1; i < list.size(); ++i) {
        if (!(list[i].first > list[i - 1].first))
          e.errors.push_back(family + ": le not increasing");
        if (list[i].second < list[i - 1].second) e.errors.push_back(family + ": not cumulative");
      }
      if (list.empty() || !std::isinf(list.back().first)) {
        e.errors.push_back(family + "{" + key + "}: no +Inf bucket");
      } else if (!counts.count(key) || counts[key] != list.back().second) {
        e.errors.push_back(family + "{" + key + "}: _count != +Inf bucket");
      }
    }
  }
  return e;
}

TEST(PrometheusParserTest, RejectsMalformedExpositions) {
  EXPECT_TRUE(ParsePrometheus("# TYPE a counter\na{x=\"1\"} 3\n").errors.empty());
  EXPECT_FALSE(ParsePrometheus("a 1\n").errors.empty());                         // no TYPE
  EXPECT_FALSE(ParsePrometheus("# TYPE a counter\na{x=1} 1\n").errors.empty());  // unquoted
  EXPECT_FALSE(ParsePrometheus("# TYPE a counter\na one\n").errors.empty());
  EXPECT_FALSE(ParsePrometheus("# TYPE a counter\na 1\na 2\n").errors.empty());  // duplicate
  EXPECT_FALSE(ParsePrometheus("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n")
                   .errors.empty());  // not contiguous
  EXPECT_FALSE(ParsePrometheus("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                               "h_count 1\n")
                   .errors.empty());                                      // not cumulative
  EXPECT_FALSE(ParsePrometheus("# TYPE a counter\na 1").errors.empty());  // no final newline
}

class HttpMetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    HttpServerOptions options;
    options.shards = 2;
    server_ = new HttpTestServer(options);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->Log(); }

  Exposition Scrape() {
    HttpReply r = server_->Get("/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    Exposition e = ParsePrometheus(r.body);
    for (const std::string& error : e.errors) ADD_FAILURE() << error;
    return e;
  }

  static HttpTestServer* server_;
};

HttpTestServer* HttpMetricsTest::server_ = nullptr;

TEST_F(HttpMetricsTest, ParsesAndNamesEveryFamily) {
  Exposition e = Scrape();
  const std::map<std::string, std::string> expected = {
      {"beyondkv_http_requests_total", "counter"},
      {"beyondkv_http_request_duration_seconds", "histogram"},
      {"beyondkv_http_open_connections", "gauge"},
      {"beyondkv_http_connections_total", "counter"},
      {"beyondkv_shard_up", "gauge"},
      {"beyondkv_keys", "gauge"},
      {"beyondkv_keys_with_expiry", "gauge"},
      {"beyondkv_live_bytes", "gauge"},
      {"beyondkv_log_bytes", "gauge"},
      {"beyondkv_sealed_segments", "gauge"},
      {"beyondkv_cache_hits_total", "counter"},
      {"beyondkv_cache_misses_total", "counter"},
      {"beyondkv_cache_bytes", "gauge"},
      {"beyondkv_cache_budget_bytes", "gauge"},
      {"beyondkv_reclaim_runs_total", "counter"},
      {"beyondkv_corrupt_records_total", "counter"},
      {"beyondkv_index_bytes", "gauge"},
      {"beyondkv_expired_keys_total", "counter"},
      {"beyondkv_shard_ops_total", "counter"},
      {"beyondkv_shard_io_uring", "gauge"},
      {"beyondkv_shard_inline_appends", "gauge"},
  };
  for (const auto& [name, type] : expected) {
    EXPECT_EQ(e.types[name], type) << name;
  }
  // Per-shard figures for both shards, all up.
  EXPECT_EQ(e.Count("beyondkv_shard_up"), 2u);
  EXPECT_EQ(e.Sum("beyondkv_shard_up"), 2);
  for (const char* shard : {"0", "1"}) {
    EXPECT_EQ(e.Sum("beyondkv_cache_budget_bytes", {{"shard", shard}}), 64 << 20 >> 1) << shard;
    EXPECT_EQ(e.Count("beyondkv_shard_ops_total"), 2u);
    // io_uring is available on the machines the tests run on (the fallback is for seccomp
    // profiles that block it, k8s/seccomp).
    EXPECT_EQ(e.Sum("beyondkv_shard_io_uring", {{"shard", shard}}), 1) << shard;
  }
}

TEST_F(HttpMetricsTest, CountersMoveWithRequests) {
  Exposition before = Scrape();
  const auto requests = [](const Exposition& e, const char* route, const char* status) {
    return e.Sum("beyondkv_http_requests_total", {{"route", route}, {"status", status}});
  };
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(server_->Put(KeyPath("m:" + std::to_string(i), "ns=6"), std::string(100, 'v')).status,
              204);
  }
  for (int i = 0; i < 7; ++i) ASSERT_EQ(server_->Get(KeyPath("m:1", "ns=6")).status, 200);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(server_->Get(KeyPath("m:none", "ns=6")).status, 404);
  ASSERT_EQ(server_->Get("/nowhere").status, 404);
  ASSERT_EQ(server_->Put(KeyPath("m:bad", "ns=6&nope=1"), "v").status, 400);
  Exposition after = Scrape();

  EXPECT_EQ(requests(after, "put_value", "204") - requests(before, "put_value", "204"), 10);
  EXPECT_EQ(requests(after, "get_value", "200") - requests(before, "get_value", "200"), 7);
  EXPECT_EQ(requests(after, "get_value", "404") - requests(before, "get_value", "404"), 3);
  EXPECT_EQ(requests(after, "put_value", "400") - requests(before, "put_value", "400"), 1);
  EXPECT_EQ(requests(after, "unmatched", "404") - requests(before, "unmatched", "404"), 1);
  EXPECT_GE(requests(after, "metrics", "200"), 1);
  const auto timed = [](const Exposition& e, const char* route) {
    return e.Sum("beyondkv_http_request_duration_seconds_count", {{"route", route}});
  };
  EXPECT_EQ(timed(after, "get_value") - timed(before, "get_value"), 10);
  EXPECT_GT(after.Sum("beyondkv_http_request_duration_seconds_sum", {{"route", "get_value"}}),
            before.Sum("beyondkv_http_request_duration_seconds_sum", {{"route", "get_value"}}));
  // The shards' figures: keys and bytes of namespace 6 across shards, and ops executed.
  EXPECT_EQ(after.Sum("beyondkv_keys", {{"ns", "6"}}), 10);
  EXPECT_GT(after.Sum("beyondkv_live_bytes", {{"ns", "6"}}), 1000);
  EXPECT_GT(after.Sum("beyondkv_log_bytes", {{"ns", "6"}}), 1000);
  EXPECT_GE(after.Sum("beyondkv_shard_ops_total") - before.Sum("beyondkv_shard_ops_total"), 20);
  // The 7 GETs of one value went through the shard's value cache.
  EXPECT_EQ(after.Count("beyondkv_cache_hits_total"), 2u);
  EXPECT_GE(after.Sum("beyondkv_cache_hits_total") + after.Sum("beyondkv_cache_misses_total") -
                before.Sum("beyondkv_cache_hits_total") - before.Sum("beyondkv_cache_misses_total"),
            7);
  EXPECT_GT(after.Sum("beyondkv_cache_bytes"), 0);
  // Expiring keys are counted.
  ASSERT_EQ(server_->Put(KeyPath("m:ttl", "ns=6&ttl=100"), "v").status, 204);
  EXPECT_EQ(Scrape().Sum("beyondkv_keys_with_expiry", {{"ns", "6"}}), 1);
}

TEST_F(HttpMetricsTest, OpenConnectionsGauge) {
  const double base = Scrape().Sum("beyondkv_http_open_connections");
  EXPECT_GE(base, 1);  // this client's keep-alive connection
  const double accepted = Scrape().Sum("beyondkv_http_connections_total");
  // Extra connections, held open while we scrape.
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", server_->http_port()));
    clients.back()->set_keep_alive(true);
    ASSERT_TRUE(clients.back()->Get("/livez"));
  }
  Exposition e = Scrape();
  EXPECT_EQ(e.Sum("beyondkv_http_open_connections"), base + 3);
  EXPECT_EQ(e.Sum("beyondkv_http_connections_total"), accepted + 3);
  clients.clear();
  double now = base + 3;
  for (int i = 0; i < 100 && now != base; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = Scrape().Sum("beyondkv_http_open_connections");
  }
  EXPECT_EQ(now, base);
}

}  // namespace
}  // namespace beyondkv::testing
