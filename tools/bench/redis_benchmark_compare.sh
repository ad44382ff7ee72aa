#!/usr/bin/env bash
# redis-benchmark against redis-server (AOF, appendfsync everysec) and beyond-kv
# (--fsync everysec) in one run on this machine, and a Markdown table of the ratio
# beyond-kv / Redis per row (the floors of issue 12 beside each).
#
# Rows: one client, one request at a time (-c 1: p50 latency), 64 connections without
# pipelining and with pipeline 16 (SET, GET: requests/s), and MGET / MSET of 100 keys at 64
# connections (keys/s; 3-4 s each, so that they include what sustained writes cost: sealing
# segments, building hint files). Both servers run for the whole script; each row runs Redis
# then beyond-kv back to back, RUNS times over (interleaved, so the machine's drift weighs on
# both alike), and the table shows the median of the runs. The load average is printed before and
# after: figures taken while something else kept the 2 cores busy are not results.
#
# Usage: tools/bench/redis_benchmark_compare.sh [RUNS]        (default 3; QUICK=1: smaller)
# Environment: TRANSPORT (link) is beyond-kv's --shard-transport; BIN, a beyond-kv binary to
# measure instead of building this tree's (e.g. an older build, for a before/after).
# Builds beyond-kv with -c opt first (unless BIN is set). Needs redis-server and redis-benchmark (scripts/setup.sh).
# Uses loopback, free ports and temporary directories; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${1:-3}
transport=${TRANSPORT:-link}
scale=1
if [[ ${QUICK:-0} == 1 ]]; then scale=5; fi
if [[ -z ${BIN:-} ]]; then bazel build -c opt //services/beyond-kv >&2; fi
bin=${BIN:-bazel-bin/services/beyond-kv/beyond-kv}

# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

work=$(mktemp -d /tmp/bkv-bench-XXXXXX)
redis_pid=
bkv_pid=
cleanup() { stop_pid "$redis_pid"; stop_pid "$bkv_pid"; rm -rf "$work"; }
trap cleanup EXIT

rport=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --appendonly yes --appendfsync everysec --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
wait_port "$rport" "$redis_pid"
bport=$(free_port)
"$bin" --data-dir "$work/bkv" --resp-port "$bport" --http-port 0 --fsync everysec \
  --shard-transport "$transport" 2>"$work/bkv.log" &
bkv_pid=$!
wait_port "$bport" "$bkv_pid"

keyspace=100000
mget=(MGET) mset=(MSET)
for i in $(seq 1 100); do mget+=("key:__rand_int__"); mset+=("key:__rand_int__" "v$i"); done

# bench PORT ARGS...: "rps p50" of one redis-benchmark run (CSV output, first test only).
bench() {
  local port=$1
  shift
  redis-benchmark -p "$port" -r "$keyspace" --csv "$@" 2>/dev/null | sed -n 2p | tr -d '"' |
    awk -F, '{ print $2, $5 }'
}

# Rows: name | redis-benchmark arguments | what is compared (rps, p50, keys)
rows=(
  "SET, 1 client|-c 1 -n $((20000 / scale)) -t set|p50"
  "GET, 1 client|-c 1 -n $((20000 / scale)) -t get|p50"
  "SET, 64 connections|-c 64 -n $((200000 / scale)) -t set|rps"
  "GET, 64 connections|-c 64 -n $((200000 / scale)) -t get|rps"
  "SET, 64 connections, pipeline 16|-c 64 -P 16 -n $((1000000 / scale)) -t set|rps"
  "GET, 64 connections, pipeline 16|-c 64 -P 16 -n $((1000000 / scale)) -t get|rps"
  "MGET 100 keys, 64 connections|-c 64 -n $((60000 / scale)) ${mget[*]}|keys"
  "MSET 100 keys, 64 connections|-c 64 -n $((30000 / scale)) ${mset[*]}|keys"
)

# Fill both keyspaces first, so GET and MGET find values.
for port in "$rport" "$bport"; do
  redis-benchmark -p "$port" -r "$keyspace" -n 200000 -c 64 -P 16 -t set -q >/dev/null 2>&1
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/results"
for run in $(seq 1 "$runs"); do
  for row in "${rows[@]}"; do
    IFS='|' read -r name args _ <<<"$row"
    # shellcheck disable=SC2086
    r=$(bench "$rport" $args)
    # shellcheck disable=SC2086
    b=$(bench "$bport" $args)
    echo "$run|$name|$r|$b" >>"$work/results"
    echo "[run $run] $name: redis $r, beyond-kv $b" >&2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "redis-benchmark, median of $runs interleaved runs; $(nproc) cores, $(uname -r);" \
  "beyond-kv --shard-transport $transport; load average before: $load_before, after: $load_after"
echo
echo "| row | Redis | beyond-kv | beyond-kv / Redis | floor (issue 12) |"
echo "|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r name _ what <<<"$row"
  python3 - "$work/results" "$name" "$what" <<'EOF'
import statistics, sys
path, name, what = sys.argv[1:]
rr, rp, br, bp = [], [], [], []
for line in open(path):
    run, n, r, b = line.rstrip("\n").split("|")
    if n != name or not r or not b:
        continue
    r_rps, r_p50 = map(float, r.split()); b_rps, b_p50 = map(float, b.split())
    rr.append(r_rps); rp.append(r_p50); br.append(b_rps); bp.append(b_p50)
if not rr:
    print(f"| {name} | n/a | n/a | n/a | |"); sys.exit()
m = statistics.median
if what == "p50":
    print(f"| {name}: p50 ms (req/s) | {m(rp):.3f} ({m(rr):.0f}) | {m(bp):.3f} ({m(br):.0f}) | "
          f"latency {m(bp) / m(rp):.2f}x | latency <= 2x |")
elif what == "keys":
    print(f"| {name}: keys/s | {m(rr) * 100:.0f} | {m(br) * 100:.0f} | {m(br) / m(rr):.2f} | >= 1.0 |")
else:
    floor = ">= 0.6" if "pipeline" in name else ">= 0.9"
    print(f"| {name}: req/s | {m(rr):.0f} | {m(br):.0f} | {m(br) / m(rr):.2f} | {floor} |")
EOF
done
