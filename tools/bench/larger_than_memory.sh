#!/usr/bin/env bash
# The larger-than-memory run of issue 8: beyond-kv holding $DATA_RATIO x its value-cache budget
# (--memory-bytes), read with Zipf and uniform keys, reporting throughput, latency and the
# value cache's hit ratio. Redis cannot hold such a data set in the same memory; the script
# shows what it does instead (refuses writes, or evicts = loses keys).
#
#   1. Builds beyond-kv and kv-bench with -c opt.
#   2. Starts beyond-kv (--memory-bytes $MEMORY_BYTES, --fsync everysec, data under /tmp) and
#      loads KEYS = DATA_RATIO * MEMORY_BYTES / VALUE_BYTES keys of $VALUE_BYTES bytes.
#   3. For each mix in $MIXES, each key distribution in $DISTS and each variant in $VARIANTS
#      (variants back to back, so that the machine's drifting load weighs on them alike):
#      an unmeasured warm-up run ($WARMUP_SECS, closed loop), then a closed-loop run (peak) and
#      an open-loop run at $OPEN_PERCENT% of that peak, $DURATION_SECS each. Around each
#      measured run the script reads INFO stats (cache_hits, cache_misses: the sum over the
#      shards) and reports the window's hit ratio = delta hits / (delta hits + delta misses).
#      Variants:
#        cached   the budget above; the log's pages stay in the OS page cache (the data set is
#                 far smaller than RAM), so a cache miss is a pread served from memory.
#        evicted  the same, with a background loop dropping the log files' pages from the page
#                 cache every $EVICT_INTERVAL_SECS s (posix_fadvise DONTNEED, only our files),
#                 so most misses read the disk. An approximation of a data set larger than RAM.
#        fits     reference: a second server, on a copy of the loaded data, with a budget of
#                 2x the data set (running alongside the first; an idle server costs little).
#   4. Redis for contrast (REDIS=1): redis-server --maxmemory $MEMORY_BYTES, loaded with the
#      same keys, once with noeviction and once with allkeys-lru.
#   5. Writes $OUT_DIR/<name>.md (table), <name>.csv (every run), <name>.png (peak throughput and
#      hit ratio per run), <name> = larger-than-memory, or larger-than-memory-quick (QUICK=1).
#
# Usage: tools/bench/larger_than_memory.sh          # ~6 minutes on 2 cores (plus the build):
#                                                   # 64 MiB budget, 256 MiB of 4 KiB values
#        QUICK=1 tools/bench/larger_than_memory.sh  # ~1 minute: 16 MiB budget, 64 MiB of data
#        MEMORY_BYTES=$((1<<30)) DATA_RATIO=4 tools/bench/larger_than_memory.sh   # scale up
# Environment (defaults; QUICK=1 changes those marked *):
#   MEMORY_BYTES* (67108864)  DATA_RATIO (4)  VALUE_BYTES (4096)  ZIPF_ALPHA (0.99)
#   MIXES ("get:90,set:10 get:100")  DISTS ("zipf uniform")  VARIANTS ("cached evicted fits")
#   CONNECTIONS (32)  DURATION_SECS* (8)  WARMUP_SECS* (4)  OPEN_PERCENT (50)
#   EVICT_INTERVAL_SECS (0.05)  SHARDS (beyond-kv's default --threads)  REDIS (1)
#   OUT_DIR (docs/benchmarks)  KEEP_WORK=1 keeps the temporary directory (logs, data).
# Needs python3 (for posix_fadvise and the tables), redis-cli, redis-server (REDIS=1),
# gnuplot (optional: no plot without it), fincore (util-linux, optional). Uses loopback, free
# ports and a directory under /tmp; stops everything it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  MEMORY_BYTES=${MEMORY_BYTES:-16777216}
  DURATION_SECS=${DURATION_SECS:-3}
  WARMUP_SECS=${WARMUP_SECS:-2}
  name=larger-than-memory-quick
else
  MEMORY_BYTES=${MEMORY_BYTES:-67108864}
  DURATION_SECS=${DURATION_SECS:-8}
  WARMUP_SECS=${WARMUP_SECS:-4}
  name=larger-than-memory
fi
DATA_RATIO=${DATA_RATIO:-4}
VALUE_BYTES=${VALUE_BYTES:-4096}
ZIPF_ALPHA=${ZIPF_ALPHA:-0.99}
MIXES=${MIXES:-"get:90,set:10 get:100"}
DISTS=${DISTS:-"zipf uniform"}
VARIANTS=${VARIANTS:-"cached evicted fits"}
CONNECTIONS=${CONNECTIONS:-32}
OPEN_PERCENT=${OPEN_PERCENT:-50}
EVICT_INTERVAL_SECS=${EVICT_INTERVAL_SECS:-0.05}
SHARDS=${SHARDS:-}
REDIS=${REDIS:-1}
OUT_DIR=${OUT_DIR:-docs/benchmarks}
KEYS=$(( DATA_RATIO * MEMORY_BYTES / VALUE_BYTES ))
DATA_BYTES=$(( KEYS * VALUE_BYTES ))

for tool in redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "larger_than_memory.sh: $tool not found (scripts/setup.sh)" >&2; exit 1; }
done

log() { echo "[ltm $(date +%H:%M:%S)] $*" >&2; }
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }

timeout 900 bazel build -c opt //services/beyond-kv //tools/kv-bench >&2
bin_dir=$(timeout 900 bazel info -c opt bazel-bin 2>/dev/null)
kvbench=$bin_dir/tools/kv-bench/kv-bench
beyondkv=$bin_dir/services/beyond-kv/beyond-kv

work=$(mktemp -d /tmp/kv-ltm-XXXXXX)
data_dir=$work/data
server_pid=
evictor_pid=
stop_evictor() {
  [[ -n $evictor_pid ]] || return 0
  kill -TERM "$evictor_pid" 2>/dev/null || true
  wait "$evictor_pid" 2>/dev/null || true
  evictor_pid=
}
# stop_pid PID: SIGTERM to a server we started, SIGKILL after 30 s.
# stop_server: stops $server_pid (and forgets it everywhere: a waited-for pid may be reused).
stop_server() {
  stop_pid "$server_pid"
  if [[ $server_pid == "${small_pid:-}" ]]; then small_pid=; fi
  if [[ $server_pid == "${fits_pid:-}" ]]; then fits_pid=; fi
  server_pid=
}
small_pid=
fits_pid=
cleanup() {
  stop_evictor
  stop_server
  server_pid=$small_pid; stop_server
  server_pid=$fits_pid; stop_server
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# start_beyondkv BUDGET LOGNAME: beyond-kv on $data_dir with --memory-bytes BUDGET; sets $port.
start_beyondkv() {
  local budget=$1 logname=$2 shard_args=()
  if [[ -n $SHARDS ]]; then shard_args=(--threads "$SHARDS"); fi
  port=$(free_port)
  "$beyondkv" --data-dir "$data_dir" --resp-port "$port" --http-port 0 --fsync everysec \
    --memory-bytes "$budget" "${shard_args[@]}" >"$work/$logname.log" 2>&1 &
  server_pid=$!
  if ! wait_port "$port"; then
    log "beyond-kv did not start; log:"; tail -20 "$work/$logname.log" >&2
    exit 1
  fi
  log "beyond-kv --memory-bytes $budget serving on 127.0.0.1:$port (pid $server_pid)"
}

# Sum of VmRSS (KiB) of the server and its children (gateway, shards).
server_rss_kib() {
  local pids total=0 p kib
  pids="$server_pid $(pgrep -P "$server_pid" | tr '\n' ' ')"
  for p in $pids; do
    kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
    total=$(( total + ${kib:-0} ))
  done
  echo "$total"
}

# Bytes of the log files resident in the page cache (fincore), or empty without fincore.
log_resident_bytes() {
  command -v fincore >/dev/null || return 0
  find "$data_dir" -type f -print0 | xargs -0 -r fincore --bytes --noheadings --output RES 2>/dev/null |
    awk '{ s += $1 } END { print s + 0 }'
}

# Sectors read from the disk holding the data directory (/sys/block/<dev>/stat), or empty.
disk_dev=$(basename "$(findmnt -no SOURCE -T "$work" 2>/dev/null || true)" 2>/dev/null || true)
disk_sectors_read() {
  [[ -n $disk_dev && -r /sys/block/$disk_dev/stat ]] || return 0
  awk '{ print $3 }' "/sys/block/$disk_dev/stat"
}

cache_counters() {  # prints "hits misses" summed over the shards (INFO stats)
  redis-cli -p "$port" INFO stats | tr -d '\r' |
    awk -F: '$1 == "cache_hits" { h = $2 } $1 == "cache_misses" { m = $2 } END { print h + 0, m + 0 }'
}

csv=$work/results.csv
seed=1000
echo "variant,budget_bytes,mix,dist,mode,target_rate,achieved_rate,p50_us,p90_us,p99_us,p999_us,max_us,count,errors,unfinished,hits,misses,hit_ratio,rss_kib,log_resident_bytes,load1,disk_read_mibps" >"$csv"

# run_point VARIANT BUDGET MIX DIST RATE|closed|warmup SEED: one kv-bench run; appends a CSV
# row (not for warmup) and prints the achieved rate. Each run needs its own seed: with one seed
# every run replays the same key sequence, and a cache warmed by one run then "predicts" the
# next (uniform reads of 4x the cache hit 33% of the time instead of the 24% that fits).
run_point() {
  local variant=$1 budget=$2 mix=$3 dist=$4 rate=$5 json mode_args=(--closed) dur=$DURATION_SECS
  local dist_args=(--key-dist "$dist")
  if [[ $dist == zipf ]]; then dist_args+=(--zipf-alpha "$ZIPF_ALPHA"); fi
  if [[ $rate == warmup ]]; then dur=$WARMUP_SECS
  elif [[ $rate != closed ]]; then mode_args=(--rate "$rate"); fi
  local seed=$6 before after sectors0 sectors1 t0 t1
  before=$(cache_counters); sectors0=$(disk_sectors_read); t0=$(date +%s.%N)
  if ! json=$("$kvbench" --port "$port" --json "${mode_args[@]}" --mix "$mix" "${dist_args[@]}" \
      --connections "$CONNECTIONS" --keys "$KEYS" --value-bytes "$VALUE_BYTES" \
      --duration-secs "$dur" --warmup-secs 0.2 --drain-secs 2 --seed "$seed" 2>>"$work/kv-bench.err"); then
    log "$variant $mix $dist $rate: kv-bench failed: $(tail -1 "$work/kv-bench.err")"
    echo 0
    return 0
  fi
  after=$(cache_counters); sectors1=$(disk_sectors_read); t1=$(date +%s.%N)
  local disk_mibps=
  if [[ -n $sectors0 && -n $sectors1 ]]; then
    disk_mibps=$(awk -v a="$sectors0" -v b="$sectors1" -v t0="$t0" -v t1="$t1" \
      'BEGIN { printf "%.1f", (b - a) * 512 / 1048576 / (t1 - t0) }')
  fi
  if [[ $rate == warmup ]]; then echo 0; return 0; fi
  python3 - "$variant" "$budget" "$mix" "$dist" "$csv" "$json" "$before" "$after" \
      "$(server_rss_kib)" "$(log_resident_bytes)" "$(cut -d' ' -f1 /proc/loadavg)" "$disk_mibps" <<'EOF'
import json, sys
variant, budget, mix, dist, csv_path, text, before, after, rss, resident, load1, disk = sys.argv[1:]
j = json.loads(text)
lat = j["latency_us"]
h0, m0 = map(int, before.split()); h1, m1 = map(int, after.split())
hits, misses = h1 - h0, m1 - m0
ratio = hits / (hits + misses) if hits + misses else 0
row = [variant, budget, mix.replace(",", " "), dist, j["mode"], round(j["target_rate"]),
       round(j["achieved_rate"]), lat["p50"], lat["p90"], lat["p99"], lat["p99.9"], lat["max"],
       j["count"], j["errors"], j["unfinished"], hits, misses, f"{ratio:.4f}", rss, resident, load1,
       disk]
with open(csv_path, "a") as f:
    f.write(",".join(str(x) for x in row) + "\n")
print(f"{variant} {mix} {dist} {j['mode']}: achieved {row[6]} req/s, p50 {lat['p50']/1000:.3f} ms, "
      f"p99 {lat['p99']/1000:.3f} ms, hit ratio {ratio:.3f} ({hits} hits, {misses} misses), "
      f"disk reads {disk} MiB/s, errors {j['errors']}, load {load1}", file=sys.stderr)
print(round(j["achieved_rate"]))
EOF
}

# The evictor: drops our log files' pages from the page cache every EVICT_INTERVAL_SECS s.
start_evictor() {
  python3 - "$data_dir" "$EVICT_INTERVAL_SECS" <<'EOF' &
import os, sys, time
root, interval = sys.argv[1], float(sys.argv[2])
while True:
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    time.sleep(interval)
EOF
  evictor_pid=$!
}

loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(nproc) cores, $(uname -r), load average $loadavg_before"
log "budget $(mib "$MEMORY_BYTES"), $KEYS keys x $VALUE_BYTES bytes = $(mib "$DATA_BYTES") (${DATA_RATIO}x)"
started=$(date +%s)

start_beyondkv "$MEMORY_BYTES" beyond-kv
load_json=$("$kvbench" --port "$port" --json --load --duration-secs 0 --keys "$KEYS" \
  --value-bytes "$VALUE_BYTES" --connections 8 --pipeline 2 --load-batch 16)
load_line=$(python3 - "$load_json" <<'EOF'
import json, sys
l = json.loads(sys.argv[1])["load"]
print("%d keys in %.1f s, %d errors" % (l["keys"], l["secs"], l["errors"]))
EOF
)
log "load: $load_line"
persistence=$(redis-cli -p "$port" INFO persistence | tr -d '\r')
log_bytes=$(awk -F: '$1 == "log_bytes" { print $2 }' <<<"$persistence")
keyspace=$(redis-cli -p "$port" INFO keyspace | tr -d '\r' | grep '^db0' || true)
log "log_bytes $log_bytes, $keyspace"

# The "fits" variant runs on its own server over a copy of the loaded data, at the same time as
# the budget-limited one, so that every workload can run on each variant back to back: the
# machine's load drifts, and a drift then weighs on all variants of a row alike.
small_pid=$server_pid small_port=$port small_dir=$data_dir
fits_port=''
fits_dir=$work/data-fits
if [[ " $VARIANTS " == *" fits "* ]]; then
  stop_server
  cp -a "$data_dir" "$fits_dir"
  data_dir=$fits_dir
  start_beyondkv $(( 2 * DATA_BYTES )) beyond-kv-fits
  fits_pid=$server_pid fits_port=$port
  data_dir=$small_dir
  start_beyondkv "$MEMORY_BYTES" beyond-kv-restarted
  small_pid=$server_pid small_port=$port
fi
# use_variant VARIANT: points port, server_pid, data_dir and budget at the variant's server.
use_variant() {
  if [[ $1 == fits ]]; then
    port=$fits_port server_pid=$fits_pid data_dir=$fits_dir budget=$(( 2 * DATA_BYTES ))
  else
    port=$small_port server_pid=$small_pid data_dir=$small_dir budget=$MEMORY_BYTES
  fi
}
# Touch every key once or more (MGET of 100 random keys), so that "fits" starts full.
for variant in $VARIANTS; do
  use_variant "$variant"
  seed=$(( seed + 1 ))
  "$kvbench" --port "$port" --closed --mix mget:100 --keys-per-call 100 --keys "$KEYS" \
    --connections 8 --duration-secs "$WARMUP_SECS" --warmup-secs 0 --drain-secs 2 \
    --seed "$seed" >/dev/null 2>>"$work/kv-bench.err" || true
done

for mix in $MIXES; do
  for dist in $DISTS; do
    for variant in $VARIANTS; do
      use_variant "$variant"
      if [[ $variant == evicted ]]; then start_evictor; sleep 1; fi
      # The previous "evicted" run emptied the page cache of this log: read it back first.
      if [[ $variant == cached ]]; then find "$data_dir" -type f -exec cat {} + >/dev/null; fi
      run_point "$variant" "$budget" "$mix" "$dist" warmup $(( seed += 1 )) >/dev/null
      seed=$(( seed + 1 ))  # not inside $(...): a subshell's increment is lost
      peak=$(run_point "$variant" "$budget" "$mix" "$dist" closed "$seed")
      if [[ -n $peak && $peak != 0 ]]; then
        run_point "$variant" "$budget" "$mix" "$dist" $(( peak * OPEN_PERCENT / 100 )) \
          $(( seed += 1 )) >/dev/null
      fi
      stop_evictor
    done
  done
done
server_pid=$small_pid; stop_server
server_pid=$fits_pid; stop_server
problems=$(cat "$work"/beyond-kv*.log | grep -c '^[WEF][0-9]' || true)

# Redis with the same memory: noeviction refuses writes past maxmemory, allkeys-lru drops keys.
redis_notes=()
if [[ $REDIS == 1 ]] && command -v redis-server >/dev/null; then
  for policy in noeviction allkeys-lru; do
    port=$(free_port)
    mkdir -p "$work/redis-$policy"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis-$policy" --save '' \
      --appendonly no --maxmemory "$MEMORY_BYTES" --maxmemory-policy "$policy" \
      --daemonize no >"$work/redis-$policy.log" 2>&1 &
    server_pid=$!
    wait_port "$port" || { log "redis-server did not start"; stop_server; continue; }
    rjson=$("$kvbench" --port "$port" --json --load --duration-secs 0 --keys "$KEYS" \
      --value-bytes "$VALUE_BYTES" --connections 8 --pipeline 2 --load-batch 16 || true)
    dbsize=$(redis-cli -p "$port" DBSIZE)
    used=$(redis-cli -p "$port" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
    note=$(python3 - "$rjson" <<'EOF' 2>/dev/null || echo "load failed"
import json, sys
l = json.loads(sys.argv[1])["load"]
err = l["first_error"].strip().split("\n")[0][:80]
print("%d of the load's MSETs (16 keys each) answered an error%s"
      % (l["errors"], " (`%s`)" % err if err else ""))
EOF
)
    redis_notes+=("Redis 7 \`--maxmemory $MEMORY_BYTES --maxmemory-policy $policy\`: $note; it holds $dbsize of $KEYS keys afterwards (used_memory $used).")
    log "${redis_notes[-1]}"
    stop_server
  done
fi
elapsed=$(( $(date +%s) - started ))
loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$OUT_DIR"
cp "$csv" "$OUT_DIR/$name.csv"
command_line=tools/bench/larger_than_memory.sh
if [[ $QUICK == 1 ]]; then command_line="QUICK=1 $command_line"; fi
redis_text=$(printf -- '- %s\n' "${redis_notes[@]:-}")
python3 - "$OUT_DIR/$name.csv" "$OUT_DIR/$name.md" <<EOF
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = open(sys.argv[2], "w")
def ms(v): return f"{float(v) / 1000:.3f}"
desc = {"cached": "budget $(mib "$MEMORY_BYTES"); log in the OS page cache",
        "evicted": "budget $(mib "$MEMORY_BYTES"); log pages dropped every ${EVICT_INTERVAL_SECS} s",
        "fits": "budget 2x the data (reference)"}
print(f"""# beyond-kv with ${DATA_RATIO}x its memory budget of data (\`$command_line\`)

Generated by \`$command_line\` in ${elapsed} s on $(nproc) cores, Linux $(uname -r),
$(date -u '+%Y-%m-%d %H:%M UTC'), load average $loadavg_before before, $loadavg_after after (the
\`load1\` column: the 1-minute load average after each run; the machine is shared).
beyond-kv at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!docs' 2>/dev/null || echo ' + local changes'), \`-c opt\`, \`--fsync everysec --memory-bytes $MEMORY_BYTES\`
(the value cache's budget, split evenly over the shards), default \`--threads\` unless SHARDS is set${SHARDS:+ (--threads $SHARDS)}.
Data: $KEYS keys of $VALUE_BYTES bytes = $(mib "$DATA_BYTES") (${DATA_RATIO}x the budget), loaded with MSET
($load_line; log_bytes $log_bytes). kv-bench: $CONNECTIONS connections, pipeline 1; per row a
${WARMUP_SECS} s unmeasured warm-up with the same mix and keys, then ${DURATION_SECS} s closed loop (peak), then ${DURATION_SECS} s
open loop at ${OPEN_PERCENT}% of that peak. Zipf exponent $ZIPF_ALPHA (rank 1 = the hottest key).
Hit ratio = value-cache hits / (hits + misses) over the run, from \`INFO stats\` (\`cache_hits\`,
\`cache_misses\`, summed over the shards) read before and after it. The cache is read-through:
a GET that misses reads the log (pread) and inserts the value; a SET does not fill it, it makes
the key's cached value stale. \`RSS\`: beyond-kv's processes (supervisor, gateway, shards) after
the run. \`log in page cache\`: bytes of the data directory resident in the OS page cache
(fincore) after the run. \`disk read\`: bytes read from the data directory's block device
(/sys/block/$disk_dev/stat; the whole machine's reads of that disk) per second of the run. beyond-kv's logs had $problems warning/error lines.

| variant | mix | keys | peak req/s | p50 / p99 ms (peak) | hit ratio (peak) | disk read MiB/s (peak) | open loop req/s | p50 / p99 / p99.9 ms (open) | hit ratio (open) | errors | RSS MiB | log in page cache MiB | load1 |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|""", file=out)
keyf = lambda r: (r["variant"], r["mix"], r["dist"])
groups = {}
for r in rows:
    groups.setdefault(keyf(r), {})[r["mode"]] = r
for (variant, mix, dist), g in groups.items():
    c, o = g.get("closed"), g.get("open")
    dist_name = "Zipf $ZIPF_ALPHA" if dist == "zipf" else dist
    res = lambda r: "n/a" if not r or r["log_resident_bytes"] == "" else f"{int(r['log_resident_bytes']) / 1048576:.0f}"
    cells = [f"{variant}: {desc.get(variant, variant)}", mix.replace(" ", ","), dist_name]
    cells += [c["achieved_rate"], f"{ms(c['p50_us'])} / {ms(c['p99_us'])}", c["hit_ratio"],
              c["disk_read_mibps"] or "n/a"] if c else ["n/a"] * 4
    cells += [o["achieved_rate"], f"{ms(o['p50_us'])} / {ms(o['p99_us'])} / {ms(o['p999_us'])}",
              o["hit_ratio"]] if o else ["n/a"] * 3
    last = o or c
    errs = sum(int(r["errors"]) for r in g.values())
    cells += [str(errs), f"{int(last['rss_kib']) / 1024:.0f}" if last else "n/a", res(last),
              last["load1"] if last else "n/a"]
    print("| " + " | ".join(cells) + " |", file=out)
print("""
$redis_text

![peak throughput and hit ratio per run]($name.png)""", file=out)
EOF

# The plot: peak throughput (bars) and hit ratio (points) per variant / mix / distribution.
if command -v gnuplot >/dev/null; then
  awk -F, 'NR > 1 && $5 == "closed" { printf "\"%s\\n%s\\n%s\" %s %s\n", $1, $3, $4, $7 / 1000, $18 }' \
    "$csv" >"$work/plot.dat"
  gnuplot <<EOF || log "gnuplot failed: no plot"
set terminal pngcairo size 1300,560 font ",10"
set output "$OUT_DIR/$name.png"
set title "beyond-kv, $(mib "$DATA_BYTES") of $VALUE_BYTES-byte values over a $(mib "$MEMORY_BYTES") cache budget ($(nproc) cores): closed-loop peak and value-cache hit ratio"
set style fill solid 0.5 border -1
set boxwidth 0.7
set bmargin 6
set xrange [-0.6:*]
set ylabel "peak (thousand requests/s)"
set y2label "hit ratio"
set yrange [0:*]
set y2range [0:1.05]
set y2tics
set ytics nomirror
set grid y
set key outside top center horizontal
plot "$work/plot.dat" using 0:2:xtic(1) with boxes title "peak req/s (closed loop)", \
     "" using 0:3 axes x1y2 with points pt 7 ps 1.5 lc rgb "red" title "hit ratio (right axis)"
EOF
fi
log "wrote $OUT_DIR/$name.md, .csv, .png in ${elapsed} s"
cat "$OUT_DIR/$name.md"
