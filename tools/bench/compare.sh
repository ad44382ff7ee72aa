#!/usr/bin/env bash
# Side-by-side benchmark of redis-server and beyond-kv with kv-bench (//tools/kv-bench), in one
# run on this machine: the same keys, the same workloads, one system after the other.
#
#   1. Builds beyond-kv and kv-bench with -c opt.
#   2. Starts redis-server (AOF, appendfsync everysec, maxmemory $MEMORY_BYTES), loads $KEYS
#      keys of $VALUE_BYTES bytes, and for each workload (80% GET / 20% SET; 80% MGET / 20%
#      MSET with $MGET_KEYS keys per call; uniform keys, $CONNECTIONS connections) finds the
#      peak with a closed-loop run, then runs open loop at $FRACTIONS percent of that peak.
#      Stops it, then does the same for beyond-kv (--fsync everysec, --memory-bytes
#      $MEMORY_BYTES), adding open-loop runs at 50% and 90% of Redis's peak.
#   3. Restarts both with fsync on every write (appendfsync always / --fsync always): SET-only,
#      closed-loop peak and open loop at 50% and 90% of Redis's peak.
#   4. Writes $OUT_DIR/<name>.md (summary and sweep tables), <name>.csv (every run) and
#      <name>.png (p99 latency vs achieved rate, one line per system), where <name> is
#      "compare" or, with QUICK=1, "compare-quick".
#
# Usage: tools/bench/compare.sh              # full run, ~8 minutes on 2 cores (plus the build)
#        QUICK=1 tools/bench/compare.sh      # ~70 s: 20k keys, 1.5 s per point, 3 points
# Environment (defaults for the full run; QUICK=1 changes those marked *):
#   KEYS* (500000)  VALUE_BYTES (256)  CONNECTIONS (64)  PIPELINE (1)  MGET_KEYS (100)
#   DURATION_SECS* (8)  WARMUP_SECS* (2)  DRAIN_SECS* (2)  FRACTIONS* ("10 25 50 75 90 100")
#   MEMORY_BYTES (1073741824)  BENCH_THREADS (1: kv-bench event-loop threads)
#   OUT_DIR (docs/benchmarks)  KEEP_WORK=1 keeps the temporary directory (server logs).
# Needs redis-server and redis-cli (scripts/setup.sh), python3 and gnuplot (gnuplot-nox).
# Uses loopback, free ports and a temporary directory; stops everything it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  KEYS=${KEYS:-20000}
  DURATION_SECS=${DURATION_SECS:-1.5}
  WARMUP_SECS=${WARMUP_SECS:-0.5}
  FRACTIONS=${FRACTIONS:-"25 50 90"}
  DRAIN_SECS=${DRAIN_SECS:-1}
  name=compare-quick
else
  KEYS=${KEYS:-500000}
  DURATION_SECS=${DURATION_SECS:-8}
  WARMUP_SECS=${WARMUP_SECS:-2}
  FRACTIONS=${FRACTIONS:-"10 25 50 75 90 100"}
  DRAIN_SECS=${DRAIN_SECS:-2}
  name=compare
fi
VALUE_BYTES=${VALUE_BYTES:-256}
CONNECTIONS=${CONNECTIONS:-64}
PIPELINE=${PIPELINE:-1}
MGET_KEYS=${MGET_KEYS:-100}
MEMORY_BYTES=${MEMORY_BYTES:-1073741824}
BENCH_THREADS=${BENCH_THREADS:-1}
OUT_DIR=${OUT_DIR:-docs/benchmarks}

for tool in redis-server redis-cli python3 gnuplot; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found (scripts/setup.sh)" >&2; exit 1; }
done

log() { echo "[compare $(date +%H:%M:%S)] $*" >&2; }

timeout 900 bazel build -c opt //services/beyond-kv //tools/kv-bench >&2
bin_dir=$(timeout 900 bazel info -c opt bazel-bin 2>/dev/null)
kvbench=$bin_dir/tools/kv-bench/kv-bench
beyondkv=$bin_dir/services/beyond-kv/beyond-kv

work=$(mktemp -d /tmp/kv-compare-XXXXXX)
server_pid=
cleanup() {
  stop_server
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# stop_server: SIGTERM to the server we started, SIGKILL after 30 s.
stop_server() {
  stop_pid "$server_pid"
  server_pid=
}

# start_server SYSTEM FSYNC: starts redis or beyond-kv on a free port; sets $port.
start_server() {
  local system=$1 fsync=$2
  port=$(free_port)
  local dir=$work/$system-$fsync
  mkdir -p "$dir"
  if [[ $system == redis ]]; then
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes \
      --appendfsync "$fsync" --maxmemory "$MEMORY_BYTES" --daemonize no >"$dir.log" 2>&1 &
  else
    "$beyondkv" --data-dir "$dir/data" --resp-port "$port" --http-port "$(free_port)" \
      --fsync "$fsync" --memory-bytes "$MEMORY_BYTES" >"$dir.log" 2>&1 &
  fi
  server_pid=$!
  if ! wait_port "$port"; then
    log "$system ($fsync) did not start; log:"; tail -20 "$dir.log" >&2
    exit 1
  fi
  log "$system ($fsync) serving on 127.0.0.1:$port (pid $server_pid)"
}

csv=$work/results.csv
echo "system,workload,label,mode,target_rate,achieved_rate,p50_us,p90_us,p99_us,p999_us,max_us,count,errors,unfinished,first_error" >"$csv"

workload_args() {
  case $1 in
    getset) echo "--mix get:80,set:20" ;;
    mgetmset) echo "--mix mget:80,mset:20 --keys-per-call $MGET_KEYS" ;;
    set-always) echo "--mix set:100" ;;
  esac
}

# run_point SYSTEM WORKLOAD LABEL RATE|closed: one kv-bench run against $port; appends a CSV
# row and prints the achieved rate (empty when kv-bench failed).
run_point() {
  local system=$1 workload=$2 label=$3 rate=$4 json mode_args=(--closed)
  if [[ $rate != closed ]]; then mode_args=(--rate "$rate"); fi
  # shellcheck disable=SC2046  # workload_args is a list of words
  if ! json=$("$kvbench" --port "$port" --json "${mode_args[@]}" $(workload_args "$workload") \
      --connections "$CONNECTIONS" --pipeline "$PIPELINE" --threads "$BENCH_THREADS" \
      --keys "$KEYS" --value-bytes "$VALUE_BYTES" --duration-secs "$DURATION_SECS" \
      --warmup-secs "$WARMUP_SECS" --drain-secs "$DRAIN_SECS" 2>>"$work/kv-bench.err"); then
    log "$system $workload $label: kv-bench failed: $(tail -1 "$work/kv-bench.err")"
    local mode=open target=$rate
    if [[ $rate == closed ]]; then mode=closed; target=0; fi
    echo "$system,$workload,$label,$mode,$target,,,,,,,,,,kv-bench failed" >>"$csv"
    return 0
  fi
  python3 - "$system" "$workload" "$label" "$csv" "$json" <<'EOF'
import json, sys
system, workload, label, csv_path, text = sys.argv[1:]
j = json.loads(text)
lat = j["latency_us"]
row = [system, workload, label, j["mode"], round(j["target_rate"]), round(j["achieved_rate"]),
       lat["p50"], lat["p90"], lat["p99"], lat["p99.9"], lat["max"], j["count"], j["errors"],
       j["unfinished"], j["first_error"].replace(",", ";").replace("\n", " ")[:120]]
with open(csv_path, "a") as f:
    f.write(",".join(str(x) for x in row) + "\n")
print(f"{system} {workload} {label}: target {row[4] or 'closed'}, achieved {row[5]} req/s, "
      f"p50 {lat['p50']/1000:.3f} ms, p99 {lat['p99']/1000:.3f} ms, errors {j['errors']}, "
      f"unfinished {j['unfinished']}", file=sys.stderr)
print(round(j["achieved_rate"]))
EOF
}

percent_of() { awk -v p="$1" -v f="$2" 'BEGIN { printf "%d", p * f / 100 }'; }

declare -A redis_peak
# sweep SYSTEM: load, then for each workload a closed-loop peak and the open-loop points.
sweep() {
  local system=$1 workload peak f
  log "$system: loading $KEYS keys of $VALUE_BYTES bytes"
  if ! "$kvbench" --port "$port" --load --duration-secs 0 --keys "$KEYS" \
      --value-bytes "$VALUE_BYTES" --connections "$CONNECTIONS" --pipeline 4 >"$work/$system-load.txt" 2>&1; then
    log "$system: load failed: $(tail -3 "$work/$system-load.txt")"
  fi
  grep '^load' "$work/$system-load.txt" | sed "s/^/[$system] /" >&2 || true
  for workload in getset mgetmset; do
    peak=$(run_point "$system" "$workload" peak closed)
    if [[ $system == redis ]]; then redis_peak[$workload]=$peak; fi
    if [[ -z $peak || $peak == 0 ]]; then log "$system $workload: no peak, skipping sweep"; continue; fi
    local fractions=$FRACTIONS
    # Redis's own sweep also gives the 50% and 90% points the summary compares at.
    if [[ $system == redis ]]; then
      # shellcheck disable=SC2086  # a list of numbers
      fractions=$(printf '%s\n' $FRACTIONS 50 90 | sort -n -u | tr '\n' ' ')
    fi
    for f in $fractions; do
      run_point "$system" "$workload" "f$f" "$(percent_of "$peak" "$f")" >/dev/null
    done
    if [[ $system != redis && -n ${redis_peak[$workload]:-} ]]; then
      for f in 50 90; do
        run_point "$system" "$workload" "r$f" "$(percent_of "${redis_peak[$workload]}" "$f")" >/dev/null
      done
    fi
  done
}

loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(nproc) cores, $(uname -r), load average $loadavg_before"
started=$(date +%s)

start_server redis everysec
sweep redis
stop_server
start_server beyond-kv everysec
sweep beyond-kv
stop_server

for system in redis beyond-kv; do
  start_server "$system" always
  peak=$(run_point "$system" set-always peak closed)
  if [[ $system == redis ]]; then redis_peak[set-always]=$peak; fi
  if [[ -n ${redis_peak[set-always]:-} && ${redis_peak[set-always]} != 0 ]]; then
    for f in 50 90; do
      run_point "$system" set-always "r$f" "$(percent_of "${redis_peak[set-always]}" "$f")" >/dev/null
    done
  fi
  stop_server
done
elapsed=$(( $(date +%s) - started ))
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)
# What the servers did besides answering: Redis's AOF rewrites (fork + rewrite of the whole
# data set, competing for the same cores), beyond-kv's warnings and errors.
server_notes=
for fsync in everysec always; do
  rewrites=$(grep -c "Background AOF rewrite finished" "$work/redis-$fsync.log" || true)
  problems=$(grep -c '^[WEF][0-9]' "$work/beyond-kv-$fsync.log" || true)
  server_notes+="Redis ($fsync) finished ${rewrites:-0} AOF rewrites; beyond-kv ($fsync) logged ${problems:-0} warnings/errors. "
done
log "$server_notes"
# Other processes on the machine skew both systems' figures: say so on the page.
busy_note=
if awk -v b="${loadavg_before%% *}" -v n="$(nproc)" 'BEGIN { exit !(b > n / 2) }'; then
  busy_note="**Warning: the machine was busy with other work before the run (load average $loadavg_before), which skews both systems' figures: rerun on an idle machine before quoting them.**"
  log "$busy_note"
fi

mkdir -p "$OUT_DIR"
cp "$csv" "$OUT_DIR/$name.csv"

# The Markdown page: summary (peak, p99 at 50% and 90% of Redis's peak, ratios) and the sweep.
command_line=tools/bench/compare.sh
if [[ $QUICK == 1 ]]; then command_line="QUICK=1 $command_line"; fi
python3 - "$OUT_DIR/$name.csv" "$OUT_DIR/$name.md" "$name" <<EOF
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = open(sys.argv[2], "w")
name = sys.argv[3]
def point(system, workload, label):
    for r in rows:
        if r["system"] == system and r["workload"] == workload and r["label"] == label:
            return r
    # Redis's own sweep holds the points at 50% / 90% of its peak.
    if system == "redis" and label.startswith("r"):
        return point(system, workload, "f" + label[1:])
    return None
def num(r, key):
    return float(r[key]) if r and r.get(key) not in (None, "") else None
def ms(v):
    return "n/a" if v is None else f"{v / 1000:.3f}"
def ratio(b, a):
    return "n/a" if a in (None, 0) or b is None else f"{b / a:.2f}"
def p99_cell(r):
    if r is None or num(r, "p99_us") is None:
        return "n/a"
    cell = f"{ms(num(r, 'p99_us'))} ms @ {int(num(r, 'achieved_rate'))}/s"
    if int(r["unfinished"] or 0) > 0:
        cell += " (overloaded; a lower bound)"
    elif num(r, "achieved_rate") < 0.95 * num(r, "target_rate"):
        cell += " (overloaded)"
    return cell
names = {"getset": "80% GET / 20% SET", "mgetmset": "80% MGET / 20% MSET ($MGET_KEYS keys/call)",
         "set-always": "SET, fsync always"}
print(f"""# kv-bench: beyond-kv vs redis-server ({name})

Generated by \`$command_line\` in ${elapsed} s on $(nproc) cores, Linux $(uname -r),
$(date -u '+%Y-%m-%d %H:%M UTC'), load average $loadavg_before before the run, $loadavg_after after.
$(redis-server --version | cut -d' ' -f1-3) (\`--appendonly yes --appendfsync everysec|always
--maxmemory $MEMORY_BYTES\`); beyond-kv at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + local changes')
(\`--fsync everysec|always --memory-bytes $MEMORY_BYTES\`, default \`--threads\`), built with \`-c opt\`.
Both on 127.0.0.1, one after the other. Workload: $KEYS keys of $VALUE_BYTES bytes loaded first,
uniform keys, $CONNECTIONS connections, pipeline $PIPELINE, kv-bench with $BENCH_THREADS thread(s),
${DURATION_SECS} s measured after ${WARMUP_SECS} s warm-up per point. Peak = closed loop; the
other points are open loop (Poisson arrivals, latency from the scheduled time).

$server_notes

$busy_note

| workload | metric | Redis | beyond-kv | beyond-kv / Redis |
|---|---|---|---|---|""", file=out)
for w in ["getset", "mgetmset", "set-always"]:
    rp, bp = point("redis", w, "peak"), point("beyond-kv", w, "peak")
    a, b = num(rp, "achieved_rate"), num(bp, "achieved_rate")
    print(f"| {names[w]} | peak req/s | {'n/a' if a is None else int(a)} | "
          f"{'n/a' if b is None else int(b)} | {ratio(b, a)} |", file=out)
    for f in ("50", "90"):
        r, bk = point("redis", w, "r" + f), point("beyond-kv", w, "r" + f)
        print(f"| | p99 at {f}% of Redis's peak | {p99_cell(r)} | {p99_cell(bk)} | "
              f"{ratio(num(bk, 'p99_us'), num(r, 'p99_us'))} |", file=out)
print("""
Ratios above 1 mean beyond-kv is faster for peak throughput and slower for p99.

## Every run

label: peak = closed loop; fNN = open loop at NN% of the system's own peak; rNN = at NN% of
Redis's peak. "unfinished" requests were still unanswered $DRAIN_SECS s after the window and count at
their age then, so that row's percentiles are lower bounds. Latencies in ms.

| system | workload | label | target/s | achieved/s | p50 | p90 | p99 | p99.9 | max | errors | unfinished |
|---|---|---|---|---|---|---|---|---|---|---|---|""", file=out)
for r in rows:
    t = "closed" if r["mode"] == "closed" else r["target_rate"]
    print(f"| {r['system']} | {r['workload']} | {r['label']} | {t} | {r['achieved_rate'] or 'n/a'} | "
          f"{ms(num(r, 'p50_us'))} | {ms(num(r, 'p90_us'))} | {ms(num(r, 'p99_us'))} | "
          f"{ms(num(r, 'p999_us'))} | {ms(num(r, 'max_us'))} | {r['errors'] or 'n/a'} | "
          f"{r['unfinished'] or 'n/a'} |", file=out)
errors = [r for r in rows if r["first_error"]]
if errors:
    print("\nFirst error per failing run:\n", file=out)
    for r in errors:
        print(f"- {r['system']} {r['workload']} {r['label']}: {r['first_error']}", file=out)
print(f"\n![p99 latency vs achieved rate]({name}.png)", file=out)
EOF

# The plot: p99 vs achieved rate of the open-loop points, one line per system and workload,
# in order of offered rate (so an overloaded point, achieving less than offered, bends back).
for system in redis beyond-kv; do
  for workload in getset mgetmset set-always; do
    awk -F, -v s="$system" -v w="$workload" \
      '$1 == s && $2 == w && $4 == "open" && $6 != "" { print $5, $6 / 1000, $9 / 1000 }' "$csv" |
      sort -n | cut -d' ' -f2- >"$work/$system-$workload.dat"
  done
done
gnuplot <<EOF || log "gnuplot failed: no plot"
set terminal pngcairo size 1500,500 font ",10"
set output "$OUT_DIR/$name.png"
set multiplot layout 1,3 title "beyond-kv vs redis-server: p99 latency vs achieved rate (open loop, $CONNECTIONS connections, $(nproc) cores)"
set logscale y
set grid
set xrange [0:*]
set key below horizontal
set xlabel "achieved rate (thousand requests/s)"
set ylabel "p99 latency (ms)"
do for [w in "getset mgetmset set-always"] {
  if (w eq "getset") { set title "80% GET / 20% SET, AOF everysec" }
  if (w eq "mgetmset") { set title "80% MGET / 20% MSET ($MGET_KEYS keys/call), everysec" }
  if (w eq "set-always") { set title "SET, fsync always" }
  plot "$work/redis-".w.".dat" using 1:2 with linespoints lw 2 pt 7 title "redis-server", \
       "$work/beyond-kv-".w.".dat" using 1:2 with linespoints lw 2 pt 5 title "beyond-kv"
}
unset multiplot
EOF
log "wrote $OUT_DIR/$name.md, $OUT_DIR/$name.csv, $OUT_DIR/$name.png in ${elapsed} s of benchmarking"
cat "$OUT_DIR/$name.md"
