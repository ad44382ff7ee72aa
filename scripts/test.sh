#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs every test: unit tests beside the code and the
# end-to-end tests in tests/, all through `bazel test //...`.
# Prints "N passed, N failed" and exits with Bazel's code (0 all passed, 3 a test failed).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

log=$(mktemp /tmp/bkv-test-log.XXXXXX)
bazel test --nocache_test_results //... 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
passed=$(grep -cE '^//\S+ +PASSED' "$log" || true)
failed=$(grep -cE '^//\S+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log" || true)
rm -f "$log"
if [ "${CI:-}" = "true" ]; then bazel shutdown >/dev/null 2>&1 || true; fi
echo "${passed} passed, ${failed} failed"
exit "$code"
