#!/usr/bin/env bash
# Profiles beyond-kv's hot path under a kv-bench load: perf record with DWARF call graphs of
# the RESP gateway (kv-resp-gateway) and the shards (kv-shard) while kv-bench runs a
# closed-loop mix against it, then a per-process table of subsystems (self and children %)
# and top functions (tools/bench/perf_subsystems.py).
#
# Usage: tools/bench/profile.sh                      # 80% GET / 20% SET, ~1 minute
#        MIX=get:100 tools/bench/profile.sh
# Environment: MIX (get:80,set:20)  KEYS (20000)  VALUE_BYTES (256)  CONNECTIONS (64)
#   PIPELINE (1)  RECORD_SECS (8)  FREQ (499 Hz)  SHARDS (default --threads)
#   OUT (docs/benchmarks/profile.md)  KEEP_WORK=1 keeps perf.data and the logs.
# Needs perf (root, or kernel.perf_event_paranoid <= 1) and redis-cli. The binaries are the
# plain -c opt build (no frame pointers in Debian's libraries either): DWARF unwinding
# (--call-graph dwarf) is what gives whole stacks through libgrpc and libc.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

MIX=${MIX:-get:80,set:20}
KEYS=${KEYS:-20000}
VALUE_BYTES=${VALUE_BYTES:-256}
CONNECTIONS=${CONNECTIONS:-64}
PIPELINE=${PIPELINE:-1}
RECORD_SECS=${RECORD_SECS:-8}
FREQ=${FREQ:-499}
SHARDS=${SHARDS:-}
OUT=${OUT:-docs/benchmarks/profile.md}

log() { echo "[profile $(date +%H:%M:%S)] $*" >&2; }
timeout 900 bazel build -c opt //services/beyond-kv //tools/kv-bench >&2
bin_dir=$(timeout 900 bazel info -c opt bazel-bin 2>/dev/null)
kvbench=$bin_dir/tools/kv-bench/kv-bench
beyondkv=$bin_dir/services/beyond-kv/beyond-kv

work=$(mktemp -d /tmp/kv-profile-XXXXXX)
server_pid=
bench_pid=
cleanup() {
  if [[ -n $bench_pid ]]; then kill -TERM "$bench_pid" 2>/dev/null || true; wait "$bench_pid" 2>/dev/null || true; fi
  stop_pid "$server_pid"
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu_ticks PID...: "pid:utime+stime" (clock ticks) per process.
cpu_ticks() { for p in "$@"; do echo -n "$p:$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0) "; done; echo; }
commands() { redis-cli -p "$1" INFO stats | tr -d '\r' | awk -F: '$1 == "total_commands_processed" { print $2 }'; }
# count_window DIR PID...: sleeps $RECORD_SECS while perf stat counts each process's system
# calls and context switches into DIR/<pid> (counting only: cheap, unlike perf record).
count_window() {
  local dir=$1 p stat_pids=()
  shift
  mkdir -p "$dir"
  for p in "$@"; do
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$p" -o "$dir/$p" \
      -- sleep "$RECORD_SECS" >/dev/null 2>&1 &
    stat_pids+=($!)
  done
  sleep "$RECORD_SECS"
  wait "${stat_pids[@]}" 2>/dev/null || true
}
# cpu_table LABEL WALL_SECS CMDS_BEFORE CMDS_AFTER "BEFORE" "AFTER" STATDIR NAME=PID...:
# Markdown rows.
cpu_table() {
  python3 - "$@" <<'EOF'
import os, sys
label, wall, c0, c1, before, after, statdir, *names = sys.argv[1:]
def counts(pid):
    out = {}
    try:
        for line in open(os.path.join(statdir, pid)):
            f = line.strip().split(",")
            if len(f) > 2 and f[0].replace(".", "").isdigit():
                out[f[2]] = float(f[0])
    except OSError:
        pass
    return out
hz = os.sysconf("SC_CLK_TCK")
b = dict(x.split(":") for x in before.split()); a = dict(x.split(":") for x in after.split())
reqs = int(c1) - int(c0)
total = sc_total = cs_total = 0
n = max(reqs, 1)
for nm in names:
    name, pid = nm.rsplit("=", 1)
    secs = (int(a.get(pid, 0)) - int(b.get(pid, 0))) / hz
    c = counts(pid)
    sc, cs = c.get("raw_syscalls:sys_enter"), c.get("context-switches")
    if name != "kv-bench":
        total += secs; sc_total += sc or 0; cs_total += cs or 0
    f = lambda v: "n/a" if v is None else f"{v / n:.2f}"
    print(f"| {label} | {name} | {secs / float(wall):.2f} | {secs * 1e6 / n:.1f} | {f(sc)} | {f(cs)} |")
print(f"| {label} | **server total** ({reqs / float(wall):.0f} commands/s) | {total / float(wall):.2f} | "
      f"**{total * 1e6 / n:.1f}** | **{sc_total / n:.2f}** | **{cs_total / n:.2f}** |")
EOF
}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
shard_args=()
if [[ -n $SHARDS ]]; then shard_args=(--threads "$SHARDS"); fi
"$beyondkv" --data-dir "$work/data" --resp-port "$port" --http-port 0 --fsync everysec \
  "${shard_args[@]}" >"$work/beyond-kv.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  [[ $(redis-cli -p "$port" PING 2>/dev/null) == PONG ]] && break
  sleep 0.1
done
# The supervisor's children: the RESP gateway and the shards (by their executable's name).
declare -A role
for pid in $(pgrep -P "$server_pid"); do
  exe=$(basename "$(readlink "/proc/$pid/exe")")
  role[$pid]=$exe
done
map=()
declare -A name_of
n=0
for pid in "${!role[@]}"; do
  case ${role[$pid]} in
    kv-shard) name_of[$pid]="kv-shard #$n (pid $pid)"; n=$((n + 1)) ;;
    *) name_of[$pid]="${role[$pid]} (pid $pid)" ;;
  esac
  map+=("$pid=${name_of[$pid]}")
done
log "processes: ${map[*]}"
pids=$(IFS=,; echo "${!role[*]}")

"$kvbench" --port "$port" --load --duration-secs 0 --keys "$KEYS" --value-bytes "$VALUE_BYTES" \
  --connections "$CONNECTIONS" --pipeline 4 >/dev/null
total_secs=$(( 2 * RECORD_SECS + 6 ))
"$kvbench" --port "$port" --closed --mix "$MIX" --keys "$KEYS" --value-bytes "$VALUE_BYTES" \
  --connections "$CONNECTIONS" --pipeline "$PIPELINE" --warmup-secs 2 \
  --duration-secs "$total_secs" >"$work/kv-bench.txt" 2>&1 &
bench_pid=$!
sleep 3
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
all_pids=("$server_pid" "${!role[@]}" "$bench_pid")
# CPU per command first, without perf (perf's DWARF stack copies cost the profiled processes).
cmds0=$(commands "$port"); ticks0=$(cpu_ticks "${all_pids[@]}"); t0=$(date +%s.%N)
count_window "$work/stat-beyond-kv" "${all_pids[@]}"
t1=$(date +%s.%N); ticks1=$(cpu_ticks "${all_pids[@]}"); cmds1=$(commands "$port")
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
names=("supervisor (beyond-kv)=$server_pid")
for pid in "${!role[@]}"; do names+=("${name_of[$pid]}=$pid"); done
names+=("kv-bench=$bench_pid")
cpu_rows=$(cpu_table beyond-kv "$wall" "$cmds0" "$cmds1" "$ticks0" "$ticks1" "$work/stat-beyond-kv" "${names[@]}")
log "perf record -F $FREQ --call-graph dwarf -p $pids for $RECORD_SECS s (load $load_before)"
perf record -F "$FREQ" --call-graph dwarf,16384 -p "$pids" -o "$work/perf.data" \
  -- sleep "$RECORD_SECS" 2>"$work/perf-record.err" >&2 || { cat "$work/perf-record.err" >&2; exit 1; }
wait "$bench_pid" || true
bench_pid=
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
throughput=$(grep -m1 -o 'achieved [0-9.]* req/s' "$work/kv-bench.txt" || echo "achieved ? req/s")
log "kv-bench: $throughput; perf: $(grep -o 'captured and wrote.*' "$work/perf-record.err" || true)"

kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=

# The same load against redis-server (AOF everysec), CPU time only (no perf).
if [[ ${REDIS:-1} == 1 ]] && command -v redis-server >/dev/null; then
  mkdir -p "$work/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis" --save '' --appendonly yes \
    --appendfsync everysec --daemonize no >"$work/redis.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do [[ $(redis-cli -p "$port" PING 2>/dev/null) == PONG ]] && break; sleep 0.1; done
  "$kvbench" --port "$port" --load --duration-secs 0 --keys "$KEYS" --value-bytes "$VALUE_BYTES" \
    --connections "$CONNECTIONS" --pipeline 4 >/dev/null
  "$kvbench" --port "$port" --closed --mix "$MIX" --keys "$KEYS" --value-bytes "$VALUE_BYTES" \
    --connections "$CONNECTIONS" --pipeline "$PIPELINE" --warmup-secs 2 \
    --duration-secs $(( RECORD_SECS + 3 )) >"$work/kv-bench-redis.txt" 2>&1 &
  bench_pid=$!
  sleep 3
  cmds0=$(commands "$port"); ticks0=$(cpu_ticks "$server_pid" "$bench_pid"); t0=$(date +%s.%N)
  count_window "$work/stat-redis" "$server_pid" "$bench_pid"
  t1=$(date +%s.%N); ticks1=$(cpu_ticks "$server_pid" "$bench_pid"); cmds1=$(commands "$port")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  cpu_rows+=$'\n'$(cpu_table redis-server "$wall" "$cmds0" "$cmds1" "$ticks0" "$ticks1" "$work/stat-redis" \
    "redis-server=$server_pid" "kv-bench=$bench_pid")
  wait "$bench_pid" || true
  bench_pid=
  redis_throughput=$(grep -m1 -o 'achieved [0-9.]* req/s' "$work/kv-bench-redis.txt" || echo "achieved ? req/s")
  log "redis-server: $redis_throughput"
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
fi

perf script -i "$work/perf.data" -F comm,pid,tid,period,ip,sym,dso --no-inline 2>/dev/null |
  python3 tools/bench/perf_subsystems.py --top 12 --process-map "${map[@]}" >"$work/tables.md"

mkdir -p "$(dirname "$OUT")"
{
  echo "# Profile of beyond-kv under kv-bench ($MIX)"
  echo
  echo "Generated by \`MIX=$MIX tools/bench/profile.sh\` on $(nproc) cores, Linux $(uname -r),"
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), beyond-kv at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!docs' 2>/dev/null || echo ' + local changes'), \`-c opt\`,"
  echo "\`--fsync everysec\`, default \`--threads\`. Load average $load_before at the start of the"
  echo "recording, $load_after after (shared machine). kv-bench: closed loop, $CONNECTIONS connections,"
  echo "pipeline $PIPELINE, $KEYS keys of $VALUE_BYTES bytes (loaded first), $throughput over $total_secs s."
  echo
  echo "Recorded with \`perf record -F $FREQ --call-graph dwarf,16384 -p <gateway and shard pids> -- sleep $RECORD_SECS\`,"
  echo "summarised with \`perf script -F comm,pid,tid,period,ip,sym,dso --no-inline | tools/bench/perf_subsystems.py\`."
  echo "Percentages are of each process's own on-CPU samples. *self*: the sampled instruction is in"
  echo "that subsystem/function; *children*: some frame of the sampled stack is (so a subsystem's"
  echo "children % includes the kernel time it causes). DWARF unwinding is cut at 16 KiB of stack"
  echo "and sometimes fails (\"unknown frames\"). The VM has no hardware PMU: the event is"
  echo "\`cpu-clock\`, so time with interrupts off shows up at the next \`_raw_spin_unlock_irq*\`."
  echo
  echo "## CPU per request"
  echo
  echo "CPU time (utime + stime from /proc/<pid>/stat) over $RECORD_SECS s just before the recording, divided by the"
  echo "commands the server counted (INFO \`total_commands_processed\`). The same kv-bench load then"
  echo "ran against redis-server (\`--appendonly yes --appendfsync everysec\`): ${redis_throughput:-not run}."
  echo
  echo "System calls and context switches: \`perf stat -e raw_syscalls:sys_enter,context-switches -p <pid>\`"
  echo "over the same window (counting only; kv-bench's own are listed but not in the total)."
  echo
  echo "| server | process | cores used | CPU µs per command | system calls per command | context switches per command |"
  echo "|---|---|---|---|---|---|"
  echo "$cpu_rows"
  echo
  echo "## Where each process spends its CPU"
  cat "$work/tables.md"
} >"$OUT"
log "wrote $OUT"
cat "$OUT"
