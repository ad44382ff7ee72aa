#!/usr/bin/env bash
# The TypeScript SDK's tests against a real beyond-kv.
# Usage: sdk/typescript/run-tests.sh [path/to/beyond-kv]
#   (default: ../../bazel-bin/services/beyond-kv/beyond-kv, relative to sdk/typescript)
# npm ci, tsc (library, then tests and the README's examples), then node --test: one line per
# test starting with PASS or FAIL, and a summary; exits non-zero if anything failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../bazel-bin/services/beyond-kv/beyond-kv}
# A relative path is relative to where the script was started, as usual.
case "$bin" in /*) ;; *) bin="$(cd "$(dirname "$bin")" 2>/dev/null && pwd)/$(basename "$bin")" ;; esac
cd "$here"
if [ ! -x "$bin" ]; then
  echo "FAIL setup: no beyond-kv executable at $bin"
  exit 1
fi

# Every server the tests start writes "pid data-dir" here; whatever survives the run is
# stopped and its directory removed (the tests do this themselves unless interrupted).
pidfile=$(mktemp /tmp/bkv-sdk-pids-XXXXXX)
cleanup() {
  while read -r pid dir; do
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kids=$(pgrep -P "$pid" || true)
      kill -KILL "$pid" $kids 2>/dev/null || true
    fi
    case "$dir" in /tmp/bkv-sdk-test-*) rm -rf "$dir" ;; esac
  done <"$pidfile"
  rm -f "$pidfile"
}
trap cleanup EXIT

step() {  # step NAME COMMAND...: runs a build step, prints FAIL and its output if it fails
  local name=$1; shift
  local out
  if ! out=$("$@" 2>&1); then
    echo "FAIL $name"
    echo "$out" | tail -40 | sed 's/^/    /'
    exit 1
  fi
}
step "npm ci" npm ci --no-audit --no-fund
step "npm run build (tsc, library)" npm run build
step "tsc (tests and README examples)" npm run build:test

export BEYOND_KV_BIN="$bin" BKV_SDK_PIDFILE="$pidfile"
# Test files run two at a time, each with its own server (2 shards): modest on 2 cores.
node --test --test-concurrency=2 --test-timeout=90000 --test-reporter=./build-test/reporter.js build-test/*.test.js &
runner=$!
# Interrupted: stop the runner (its files stop their servers), then the EXIT trap the rest.
trap 'kill -TERM "$runner" 2>/dev/null; wait "$runner"; exit 130' INT TERM
wait "$runner"
