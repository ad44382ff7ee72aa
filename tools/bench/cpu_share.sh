#!/usr/bin/env bash
# Which process runs out of CPU first: runs one redis-benchmark workload against beyond-kv or
# redis-server and prints each process's CPU over 3 s of it (% of one core, from
# /proc/<pid>/stat: user + system) next to the client's, and the client's requests/s.
#
# Usage: tools/bench/cpu_share.sh beyond-kv|redis "REDIS-BENCHMARK ARGS"
#   e.g. tools/bench/cpu_share.sh redis "-c 64 -n 400000 -t set"
# The keyspace (100,000 keys) is filled first. Give enough requests for 4 s of load.
# Environment: BIN (beyond-kv build, default bazel-bin/services/beyond-kv/beyond-kv, -c opt).
# Loopback, a free port, a temporary directory; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

server=${1:-}
args=${2:-}
[[ ($server == beyond-kv || $server == redis) && -n $args ]] ||
  { echo "usage: $0 beyond-kv|redis \"REDIS-BENCHMARK ARGS\"" >&2; exit 2; }
work=$(mktemp -d /tmp/bkv-cpu-XXXXXX)
server_pid=
client_pid=
cleanup() { [[ -n $client_pid ]] && kill "$client_pid" 2>/dev/null; stop_pid "$server_pid"; rm -rf "$work"; }
trap cleanup EXIT

port=$(free_port)
if [[ $server == redis ]]; then
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly yes \
    --appendfsync everysec >"$work/log" 2>&1 &
  server_pid=$!
  wait_port "$port"
  pids=$server_pid
else
  "${BIN:-bazel-bin/services/beyond-kv/beyond-kv}" --data-dir "$work/d" --resp-port "$port" \
    --http-port 0 --fsync everysec 2>"$work/log" &
  server_pid=$!
  wait_port "$port"
  pids="$(pgrep -P "$server_pid" -x kv-resp-gateway) $(pgrep -P "$server_pid" -x kv-shard | tr '\n' ' ')"
fi
redis-benchmark -p "$port" -r 100000 -n 200000 -c 64 -P 16 -t set -q >/dev/null 2>&1
# shellcheck disable=SC2086
redis-benchmark -p "$port" -r 100000 --csv $args >"$work/rb.csv" 2>/dev/null &
client_pid=$!
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
declare -A before
for p in $pids $client_pid; do before[$p]=$(ticks "$p"); done
sleep 3
out=""
for p in $pids $client_pid; do
  out+="$(cat "/proc/$p/comm") $(( ($(ticks "$p") - ${before[$p]}) * 100 / $(getconf CLK_TCK) / 3 ))%, "
done
wait "$client_pid" || true
client_pid=
echo "load average $(cut -d' ' -f1-3 /proc/loadavg): ${out}requests/s $(sed -n 2p "$work/rb.csv" | cut -d, -f2 | tr -d '"')"
