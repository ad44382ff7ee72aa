// kv-bench: prints a BenchResult as a text table or as one JSON object (the stable interface
// tools/bench/compare.sh reads). Latencies are reported in microseconds.
#ifndef BEYONDKV_TOOLS_KV_BENCH_REPORT_H_
#define BEYONDKV_TOOLS_KV_BENCH_REPORT_H_

#include <string>

#include "tools/kv-bench/bench.h"

namespace beyondkv::kvbench {

std::string FormatText(const BenchOptions& options, const BenchResult& result);

// One JSON object, e.g. (abridged)
//   {"mode":"open","target_rate":50000,"scheduled_rate":49970.2,"achieved_rate":49968.9,
//    "count":499702,"errors":0,"unfinished":0,"connection_failures":0,
//    "latency_us":{"p50":91.3,"p90":140.1,"p99":402.4,"p99.9":1203.0,"max":5102.3,...},
//    "commands":{"get":{"count":399800,...,"latency_us":{...}},"set":{...}},
//    "load":{"keys":500000,"secs":3.1,"errors":0}, "options":{...}}
// count: requests scheduled in the window; errors: error replies + requests lost with a
// failed connection; unfinished: unanswered when the run ended (their latency is a lower
// bound); achieved_rate: replies received in the window per second.
std::string FormatJson(const BenchOptions& options, const BenchResult& result);

}  // namespace beyondkv::kvbench

#endif  // BEYONDKV_TOOLS_KV_BENCH_REPORT_H_
