#!/bin/bash
# kv-backup: a consistent copy of a running beyond-kv's data directory, as a tar stream on
# stdout. In the pod:   kubectl exec beyond-kv-0 -- kv-backup > beyond-kv-0.tar
# Restore: untar into an empty directory and start beyond-kv on it with the same --threads
# (docs/operations.md, "Backups").
#
# Why it is consistent (engine/FORMAT.md, "Files", "Reclaim"): sealed segments never change;
# the active (last) segment only grows, and a copy cut inside a record is a torn tail that
# recovery truncates; reclaim publishes its outputs before it deletes its inputs, and the
# directory is a valid log at every instant. So for each namespace the set of files listed
# at one instant is captured: sealed ones hard-linked (no copy, no extra space; a later
# reclaim unlinking them does not matter), the last one copied. If a listed file is gone
# before it is captured (a reclaim deleted it), the namespace is captured again. The result
# is each namespace's log as of some instant during the backup; namespaces and shards are
# captured one after another (no cross-shard snapshot, as with per-node Redis backups).
# Hint files are kept when their segment is; *.tmp files are skipped (Open removes them).
set -euo pipefail
data=${1:-${KV_DATA_DIR:-/data}}
data=${data%/}
[ -f "$data/MANIFEST" ] || { echo "kv-backup: $data has no MANIFEST" >&2; exit 1; }
# Hard links need the same filesystem: the staging directory is inside the data directory.
stage=$(mktemp -d "$data/.backup-XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -p "$data/MANIFEST" "$stage/"

capture_ns() {  # capture_ns SRC DST: one attempt; fails if a listed file vanished
  local src=$1 dst=$2 f last
  rm -rf "$dst" && mkdir -p "$dst"
  local -a logs=()
  while IFS= read -r f; do logs+=("$f"); done < <(cd "$src" && ls -1 | grep -E '^[0-9]{20}\.log$' | sort)
  [ "${#logs[@]}" -eq 0 ] && return 0
  last=${logs[-1]}
  for f in "${logs[@]}"; do
    if [ "$f" = "$last" ]; then
      cp -p "$src/$f" "$dst/$f" 2>/dev/null || return 1
    else
      ln "$src/$f" "$dst/$f" 2>/dev/null || return 1
      ln "$src/${f%.log}.hint" "$dst/${f%.log}.hint" 2>/dev/null || true
    fi
  done
}

for shard in "$data"/shard-*/; do
  shard=${shard%/}
  name=$(basename "$shard")
  mkdir -p "$stage/$name"
  cp -p "$shard/MANIFEST" "$stage/$name/"
  for ns in "$shard"/ns-*/; do
    [ -d "$ns" ] || continue
    ns=${ns%/}
    ok=0
    for attempt in $(seq 1 50); do
      if capture_ns "$ns" "$stage/$name/$(basename "$ns")"; then ok=1; break; fi
      sleep 0.1
    done
    [ "$ok" = 1 ] || { echo "kv-backup: $ns kept changing under 50 attempts" >&2; exit 1; }
  done
done
# GNU tar exits 1 ("file changed as we read it") when a file's ctime moved while it was read.
# Every file here is a copy or a hard link to a sealed, immutable segment; a link's ctime moves
# when the server unlinks the original (a reclaim deleting its inputs), which changes no byte.
# So 1 is not an error here; 2 (a file could not be read, the stream failed) is.
status=0
tar -C "$stage" --warning=no-file-changed -cf - . || status=$?
if [ "$status" -gt 1 ]; then exit "$status"; fi
