#!/usr/bin/env bash
# Smoke test of engine-bench at toy sizes: both subcommands succeed and print their tables.
set -euo pipefail
bench=$1
out=$("$bench" index-memory --keys 20000 --key-bytes 16)
echo "$out"
grep -q '^| 20000 | 16 | random |' <<<"$out"
out=$("$bench" recovery --data-mib 8 --value-bytes 1024 --segment-mib 1)
echo "$out"
grep -q '^| yes | cold |' <<<"$out"
grep -q '^| deleted | warm |' <<<"$out"
