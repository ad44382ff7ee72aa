#!/usr/bin/env bash
# SET throughput with a sync before every reply: beyond-kv --fsync always next to
# redis-server --appendonly yes --appendfsync always, at 1 and 64 concurrent clients, on this
# machine, one system after the other. Prints a Markdown table (docs/benchmarks/engine.md).
#
# Usage: tools/bench/fsync_compare.sh [seconds per run] [client counts] [rounds]
#   defaults: 10 s, "1 64", 3 rounds. Each run is `redis-benchmark -t set -c C -n N
#   -r 1000000`, with N sized from a short calibration run so that it lasts about that many
#   seconds. Both servers run side by side (idle while the other is measured) and the runs
#   alternate Redis, beyond-kv, Redis, ... round after round, so a disk whose fdatasync speed
#   drifts (a shared VM) weighs on both alike; the table shows the median round and the range.
# Build first (this script builds nothing): bazel build -c opt //services/beyond-kv
#   (bazel-bin then points at the opt configuration); BKV_BIN overrides the binary.
# Needs redis-server, redis-benchmark, redis-cli and python3. Uses loopback, free ports and a
# temporary directory under /tmp (on the same filesystem for both systems); stops what it
# starts.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-10}
clients_list=${2:-1 64}
rounds=${3:-3}
bin=${BKV_BIN:-bazel-bin/services/beyond-kv/beyond-kv}
[[ -x $bin ]] || { echo "no $bin: run bazel build -c opt //services/beyond-kv" >&2; exit 1; }
case $(readlink -f "$bin") in
  *-opt/*) ;;
  *) echo "warning: $bin is not an -c opt build" >&2 ;;
esac

# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

work=$(mktemp -d /tmp/bkv-fsync-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# One SET run: prints "rps,p50,p99".
bench() {
  local port=$1 clients=$2 n=$3
  redis-benchmark -p "$port" -t set -c "$clients" -n "$n" -r 1000000 --csv 2>/dev/null |
    tail -n +2 | tr -d '"' | awk -F, '{print $2 "," $5 "," $7}'
}

# Requests for about $seconds at $clients on $port, from a short calibration run.
calibrate() {
  local port=$1 clients=$2
  local probe=$((clients * 20 > 500 ? clients * 20 : 500))
  local rps
  rps=$(bench "$port" "$clients" "$probe" | cut -d, -f1)
  awk -v r="$rps" -v s="$seconds" -v p="$probe" 'BEGIN { n = int(r * s); print (n < p ? p : n) }'
}

# The disk's own rate of small appends each followed by fdatasync (2 s), for scale.
sync_rate() {
  python3 - "$work" <<'PY'
import os, sys, time
fd = os.open(os.path.join(sys.argv[1], "sync-probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
n, start = 0, time.monotonic()
while time.monotonic() - start < 2.0:
    os.write(fd, b"x" * 100)
    os.fdatasync(fd)
    n += 1
print(int(n / (time.monotonic() - start)))
PY
}

rport=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save '' \
  --appendonly yes --appendfsync always --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
bport=$(free_port)
"$bin" --data-dir "$work/bkv" --resp-port "$bport" --http-port 0 --threads 2 \
  --fsync always 2>"$work/bkv.log" &
pids+=($!)
wait_port "$rport"
wait_port "$bport"
redis-cli -p "$rport" CONFIG GET appendfsync | grep -q always
redis-cli -p "$bport" INFO persistence | grep -q 'appendfsync:always'

sync_before=$(sync_rate)
declare -A requests
for clients in $clients_list; do
  requests[redis,$clients]=$(calibrate "$rport" "$clients")
  requests[beyond-kv,$clients]=$(calibrate "$bport" "$clients")
done
: >"$work/results.csv"
for round in $(seq 1 "$rounds"); do
  for clients in $clients_list; do
    for name in redis beyond-kv; do
      port=$rport; [[ $name == beyond-kv ]] && port=$bport
      echo "$name,$clients,$round,${requests[$name,$clients]},$(bench "$port" "$clients" "${requests[$name,$clients]}")" |
        tee -a "$work/results.csv" >&2
    done
  done
done
sync_after=$(sync_rate)

echo "redis-benchmark -t set -r 1000000 (3-byte values), ~${seconds} s per run, $rounds rounds; $(nproc) cores, $(uname -r)"
echo "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') --appendonly yes --appendfsync always;" \
  "beyond-kv --fsync always --threads 2 ($(readlink -f "$bin" | grep -o 'k8-[a-z]*' || echo '?'))"
echo "This disk: ${sync_before} (before) and ${sync_after} (after) appends+fdatasync per second from one thread."
echo
echo "| clients | Redis SET/s | beyond-kv SET/s | beyond-kv / Redis | Redis p50 / p99 ms | beyond-kv p50 / p99 ms |"
echo "|---|---|---|---|---|---|"
# Median round per (system, clients) by SET/s, with the range of all rounds.
sort -t, -k1,1 -k2,2n -k5,5g "$work/results.csv" | awk -F, '
  { key = $1 "," $2; n[key]++; rps[key, n[key]] = $5; lat[key, n[key]] = $6 " / " $7
    if (!(($2) in seen)) { seen[$2] = 1; order[++m] = $2 } }
  END {
    for (i = 1; i <= m; i++) {
      c = order[i]
      for (s = 0; s < 2; s++) {
        k = (s == 0 ? "redis" : "beyond-kv") "," c
        mid = int((n[k] + 1) / 2)
        med[s] = rps[k, mid]; ml[s] = lat[k, mid]
        range[s] = sprintf("%.0f (%.0f-%.0f)", rps[k, mid], rps[k, 1], rps[k, n[k]])
      }
      printf "| %s | %s | %s | %.2f | %s | %s |\n", c, range[0], range[1], med[1] / med[0], ml[0], ml[1]
      mr[c] = med[0]; mb[c] = med[1]
    }
    if (m >= 2) {
      lo = order[1]; hi = order[m]
      printf "\nMedian SET/s, %s clients vs %s: Redis x%.1f, beyond-kv x%.1f (group commit: one fdatasync per batch)\n", hi, lo, mr[hi] / mr[lo], mb[hi] / mb[lo]
    }
  }'
