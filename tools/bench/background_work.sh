#!/usr/bin/env bash
# What a shard's background work (hint files, reclaim) costs the requests running meanwhile.
#
#   tools/bench/background_work.sh growth   MSET of 100 keys at 64 connections in 8 steps of
#                                           10,000 commands: requests/s of each step and the
#                                           data directory's size after it (segments seal from
#                                           the third step on, and their hint files follow)
#   tools/bench/background_work.sh latency  GET with 8 clients (200,000 requests) right after
#                                           25,000 such MSETs (two sealed segments per shard,
#                                           hint files due): requests/s, p50, p99, max (ms)
#   tools/bench/background_work.sh recovery 60,000 such MSETs (100,000 keys overwritten ~60
#                                           times: several sealed segments and their hints
#                                           per shard), a stop, a restart: seconds from the
#                                           start to the first PONG, disk and hint bytes
#
# Environment: BIN (default bazel-bin/services/beyond-kv/beyond-kv, built -c opt by the caller)
# to compare two builds; RUNS (default 1) repeats. beyond-kv only (the work has no Redis
# counterpart that redis-server runs in its own process). Loopback, a free port, a temporary
# data directory; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

mode=${1:-}
[[ $mode == growth || $mode == latency || $mode == recovery ]] ||
  { echo "usage: $0 growth|latency|recovery" >&2; exit 2; }
bin=${BIN:-bazel-bin/services/beyond-kv/beyond-kv}
mset=(MSET)
for i in $(seq 1 100); do mset+=("key:__rand_int__" "v$i"); done

server_pid=
work=
cleanup() { stop_pid "$server_pid"; [[ -n $work ]] && rm -rf "$work"; }
trap cleanup EXIT

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $bin"
for _ in $(seq 1 "${RUNS:-1}"); do
  work=$(mktemp -d /tmp/bkv-bg-XXXXXX)
  port=$(free_port)
  "$bin" --data-dir "$work/d" --resp-port "$port" --http-port 0 --fsync everysec \
    2>"$work/log" &
  server_pid=$!
  wait_port "$port"
  if [[ $mode == growth ]]; then
    line=""
    for _ in $(seq 1 8); do
      rps=$(redis-benchmark -p "$port" -r 100000 -n 10000 -c 64 --csv "${mset[@]}" 2>/dev/null |
        sed -n 2p | cut -d, -f2 | tr -d '"')
      line+="$rps/$(du -sm "$work/d" | cut -f1)M "
    done
    echo "$line"
  elif [[ $mode == recovery ]]; then
    redis-benchmark -p "$port" -r 100000 -n 60000 -c 64 --csv "${mset[@]}" >/dev/null 2>&1
    sleep 8  # the last sealed segments' hint files
    stop_pid "$server_pid"
    disk=$(du -sm "$work/d" | cut -f1)
    hints=$(find "$work/d" -name '*.hint' -printf '%s\n' | awk '{ s += $1 } END { print int(s / 1048576) }')
    start=$(date +%s.%N)
    "$bin" --data-dir "$work/d" --resp-port "$port" --http-port 0 --fsync everysec \
      2>>"$work/log" &
    server_pid=$!
    until [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; do sleep 0.01; done
    end=$(date +%s.%N)
    echo "data ${disk}M (hint files ${hints}M): restart to the first PONG" \
      "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s," \
      "$(redis-cli -p "$port" dbsize) keys"
  else
    redis-benchmark -p "$port" -r 100000 -n 25000 -c 64 --csv "${mset[@]}" >/dev/null 2>&1
    redis-benchmark -p "$port" -r 100000 -n 200000 -c 8 --csv -t get 2>/dev/null | sed -n 2p |
      tr -d '"' | awk -F, '{ print "GET req/s " $2 ", p50 " $5 ", p99 " $7 ", max " $8 " ms" }'
  fi
  stop_pid "$server_pid"
  server_pid=
  rm -rf "$work"
  work=
done
