#!/bin/bash
# kv-log's subcommands and exit codes on a shard directory made by the engine.
set -u
KV_LOG=tools/kv-log/kv-log
dir="${TEST_TMPDIR:-/tmp}/kv-log-cli-shard"
rm -rf "$dir"
tools/kv-log/make_test_shard "$dir" || { echo "make_test_shard failed"; exit 1; }

fail() { echo "FAIL: $*"; exit 1; }

out=$($KV_LOG list "$dir") || fail "list exited $?"
echo "$out" | grep -q "ns-0" || fail "list does not show ns-0: $out"
echo "$out" | grep -q "sealed" || fail "list shows no sealed segment: $out"
echo "$out" | grep -q "active" || fail "list shows no active segment: $out"

out=$($KV_LOG verify "$dir") || fail "verify of a clean directory exited $?: $out"
echo "$out" | grep -q "0 problem(s)" || fail "verify summary: $out"

out=$($KV_LOG dump "$dir" --ns 0 --key key3) || fail "dump exited $?"
echo "$out" | grep -q 'put .*key="key3" expire_at_ms=4102444800000 meta=4B value=7B "value-3"' \
  || fail "dump of key3: $out"
[ "$(echo "$out" | grep -c 'key="key1"')" = 0 ] || fail "dump --key shows other keys: $out"
out=$($KV_LOG dump "$dir" --ns 0 --key key5) || fail "dump exited $?"
echo "$out" | grep -q "tombstone" || fail "dump shows no tombstone of key5: $out"

# Flip a byte inside the first record of the first segment: verify must fail and say where.
first="$dir/ns-0/00000000000000000001.log"
printf '\xff' | dd of="$first" bs=1 seek=60 conv=notrunc status=none
out=$($KV_LOG verify "$dir")
code=$?
[ "$code" = 1 ] || fail "verify of a damaged directory exited $code: $out"
echo "$out" | grep -q "ERROR ns-0/00000000000000000001.log: checksum mismatch in the record at offset 40" \
  || fail "verify does not locate the damage: $out"

$KV_LOG verify "$dir/no-such-dir" > /dev/null
[ "$?" = 2 ] || fail "verify of a missing directory should exit 2"
$KV_LOG > /dev/null 2>&1 && fail "no subcommand should fail"
echo PASS
