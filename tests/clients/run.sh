#!/usr/bin/env bash
# Real clients against a real beyond-kv: redis-cli (including --scan --pattern, -n, -3),
# Debian's python3-redis, ioredis from npm, and redis-benchmark with zero errors.
# Usage: tests/clients/run.sh [path/to/beyond-kv]   (default: bazel-bin/services/beyond-kv/beyond-kv)
# Prints one PASS/FAIL line per check and "N passed, N failed"; exits 1 if any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/bazel-bin/services/beyond-kv/beyond-kv}

work=$(mktemp -d /tmp/bkv-clients-XXXXXX)
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
http_port=$(free_port)
"$bin" --data-dir "$work/data" --resp-port "$port" --http-port "$http_port" --threads 2 2>"$work/server.log" &
server=$!
# A real redis-server beside it, for the idioms compared side by side.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
redis=$!
cleanup() {
  kill "$server" "$redis" 2>/dev/null; wait "$server" "$redis" 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 300); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 100); do redis-cli -p "$redis_port" PING >/dev/null 2>&1 && break; sleep 0.1; done

passed=0
failed=0
check() {  # check NAME COMMAND...: runs the command, PASS if it exits 0
  local name=$1; shift
  if out=$("$@" 2>&1); then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; echo "$out" | tail -20 | sed 's/^/    /'; failed=$((failed + 1))
  fi
}
expect() {  # expect NAME WANT COMMAND...: PASS if the command prints exactly WANT
  local name=$1 want=$2; shift 2
  local got
  got=$("$@" 2>&1)
  if [ "$got" = "$want" ]; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name: want [$want] got [$got]"; failed=$((failed + 1))
  fi
}

cli() { redis-cli -p "$port" "$@"; }
expect "redis-cli SET" "OK" cli SET greeting world
expect "redis-cli GET" "world" cli GET greeting
expect "redis-cli -n 3 GET (separate namespace)" "" cli -n 3 GET greeting
expect "redis-cli -n 3 SET" "OK" cli -n 3 SET greeting drei
expect "redis-cli -n 3 GET" "drei" cli -n 3 GET greeting
cli MSET scan:a 1 scan:b 2 scan:c 3 other 4 >/dev/null
expect "redis-cli --scan --pattern" "$(printf 'scan:a\nscan:b\nscan:c')" \
  bash -c "redis-cli -p $port --scan --pattern 'scan:*' | sort"
expect "redis-cli -3 GET" "world" cli -3 GET greeting
expect "redis-cli -3 HELLO proto" "proto 3" bash -c "redis-cli -p $port -3 HELLO 3 | grep ^proto"
expect "redis-cli unknown command" "ERR unknown command 'FOO', with args beginning with: 'bar' " cli FOO bar

check "python3-redis script" /usr/bin/python3 "$here/redis_py_client.py" "$port"
check "redis-py pipeline()/transaction()/WATCH/rate limiter, same as redis-server" \
  /usr/bin/python3 "$here/redis_py_idioms.py" "$port" "$redis_port"

if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d "$here/node/node_modules/ioredis" ]; then
    (cd "$here/node" && npm ci --no-audit --no-fund >/dev/null 2>&1)
  fi
  check "ioredis (db, pipeline, SCAN paging, QUIT)" node "$here/node/ioredis_client.js" "$port"
  check "ioredis multi() same as redis-server; revisions exact from Node (RESP, HTTP, JSON)" \
    node "$here/node/idioms.js" "$port" "$redis_port" "$http_port"
else
  echo "FAIL ioredis: node/npm not installed (scripts/setup.sh installs them)"; failed=$((failed + 1))
fi

bench() {  # zero errors and every test reported
  local pipeline=$1
  local out
  out=$(redis-benchmark -p "$port" -t ping,set,get,incr,mset -n 20000 -c 20 -P "$pipeline" --csv 2>&1) || return 1
  if echo "$out" | grep -qi "error"; then echo "$out"; return 1; fi
  [ "$(echo "$out" | tail -n +2 | wc -l)" -ge 6 ] || { echo "$out"; return 1; }
}
check "redis-benchmark -P 1 (ping,set,get,incr,mset)" bench 1
check "redis-benchmark -P 16 (ping,set,get,incr,mset)" bench 16

echo "clients: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
