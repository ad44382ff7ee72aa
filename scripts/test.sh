#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs every test:
#   1. `bazel test //...`: unit tests beside the code, end-to-end tests against real processes
#      (tests/), the differential test against a real redis-server, the command fuzzer;
#   2. tests/clients/run.sh: real clients (redis-cli, python3-redis, ioredis, redis-benchmark)
#      against a real beyond-kv;
#   3. sdk/typescript/run-tests.sh: the TypeScript SDK (npm ci, tsc, node --test) against a
#      real beyond-kv, both backends;
#   4. tests/k8s/run.sh: the Kubernetes manifests rendered, linted and validated offline, the
#      image's entrypoint run as the pod runs it, the backup procedure (docs/operations.md);
#   5. tools/fuzz/run.sh 30: each libFuzzer target (clang 14, ASan + UBSan) for 30 s;
#   6. `bazel test --config=asan //...`: the whole suite again, every binary built with
#      AddressSanitizer + UndefinedBehaviorSanitizer (~20 min on 2 cores; its own output
#      directory, so it does not rebuild the normal tree). BKV_SKIP_ASAN=1 skips it.
# Prints "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

log=$(mktemp /tmp/bkv-test-log.XXXXXX)
bazel test --nocache_test_results //... 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
passed=$(grep -cE '^//\S+ +PASSED' "$log" || true)
failed=$(grep -cE '^//\S+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log" || true)

# Runs a script that prints one "PASS ..." / "FAIL ..." line per check, and counts them.
step() {
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  passed=$((passed + $(grep -c '^PASS ' "$log" || true)))
  failed=$((failed + $(grep -c '^FAIL ' "$log" || true)))
  if [ "$status" -ne 0 ] && [ "$code" -eq 0 ]; then code=1; fi
}

if [ "$code" -eq 0 ] || [ "$code" -eq 3 ]; then
  step bash tests/clients/run.sh bazel-bin/services/beyond-kv/beyond-kv
  step bash tests/k8s/run.sh
  step bash sdk/typescript/run-tests.sh bazel-bin/services/beyond-kv/beyond-kv
  step bash tools/fuzz/run.sh 30
  if [ "${BKV_SKIP_ASAN:-}" != "1" ]; then
    echo "== the whole suite under ASan + UBSan (bazel test --config=asan //...)"
    bazel test --config=asan --nocache_test_results //... 2>&1 | tee "$log"
    asan_code=${PIPESTATUS[0]}
    passed=$((passed + $(grep -cE '^//\S+ +PASSED' "$log" || true)))
    failed=$((failed + $(grep -cE '^//\S+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log" || true)))
    if [ "$asan_code" -ne 0 ] && [ "$code" -eq 0 ]; then code=$asan_code; fi
  fi
fi
rm -f "$log"
if [ "${CI:-}" = "true" ]; then bazel shutdown >/dev/null 2>&1 || true; fi
echo "${passed} passed, ${failed} failed"
exit "$code"
