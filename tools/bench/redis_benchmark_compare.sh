#!/usr/bin/env bash
# Runs redis-benchmark against redis-server (AOF, appendfsync everysec) and beyond-kv
# (--fsync everysec), one after the other on this machine, and prints a Markdown table with
# the ratio beyond-kv / Redis for each test.
#
# Usage: tools/bench/redis_benchmark_compare.sh [requests] [clients] [tests]
#   defaults: 200000 requests, 50 clients, tests "set,get"; each run with -P 1 and -P 16.
# Builds beyond-kv with -c opt first. Needs redis-server and redis-benchmark (scripts/setup.sh).
# Uses loopback, free ports and temporary directories; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."

requests=${1:-200000}
clients=${2:-50}
tests=${3:-set,get}
bazel build -c opt //services/beyond-kv >&2
bin=bazel-bin/services/beyond-kv/beyond-kv

# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

work=$(mktemp -d /tmp/bkv-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# run_suite NAME PORT: prints "name,pipeline,test,rps,p50,p99" lines
run_suite() {
  local name=$1 port=$2
  for pipeline in 1 16; do
    redis-benchmark -p "$port" -t "$tests" -n "$requests" -c "$clients" -P "$pipeline" --csv 2>/dev/null |
      tail -n +2 | tr -d '"' |
      awk -F, -v n="$name" -v p="$pipeline" '{print n "," p "," $1 "," $2 "," $5 "," $7}'
  done
}

rport=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --appendonly yes --appendfsync everysec --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport"
run_suite redis "$rport" >"$work/results.csv"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

bport=$(free_port)
"$bin" --data-dir "$work/bkv" --resp-port "$bport" --http-port "$(free_port)" --fsync everysec 2>"$work/bkv.log" &
pids+=($!)
wait_port "$bport"
run_suite beyond-kv "$bport" >>"$work/results.csv"

echo "redis-benchmark -n $requests -c $clients -t $tests; $(nproc) cores, $(uname -r)"
echo
echo "| test | pipeline | Redis rps | beyond-kv rps | ratio | Redis p50 / p99 ms | beyond-kv p50 / p99 ms |"
echo "|---|---|---|---|---|---|---|"
awk -F, '
  $1 == "redis" { r[$2 "," $3] = $4; rl[$2 "," $3] = $5 " / " $6; order[++n] = $2 "," $3 }
  $1 == "beyond-kv" { b[$2 "," $3] = $4; bl[$2 "," $3] = $5 " / " $6 }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, kp, ",")
      printf "| %s | %s | %.0f | %.0f | %.2f | %s | %s |\n", kp[2], kp[1], r[k], b[k], b[k] / r[k], rl[k], bl[k]
    }
  }' "$work/results.csv"
