#!/usr/bin/env bash
# Offline checks of the Kubernetes deployment (k8s/) and the image's pieces, with no cluster
# and no container runtime. Prints one "PASS name" / "FAIL name" line per check and
# "N passed, N failed"; exits 1 if any failed. Called by scripts/test.sh after the clients.
#   1. yamllint (the repository's .yamllint) over k8s/;
#   2. `kubectl kustomize` renders every overlay;
#   3. each rendered overlay validates against the Kubernetes schemas (npm kubernetes-models,
#      k8s/validate, `npm ci`) and keeps beyond-kv's invariants (k8s/validate/validate.js);
#   4. the image: runtime-packages.txt covers `ldd` of the binaries, the Containerfile copies
#      them and the entrypoint, and its USER is the pods' runAsUser;
#   5. entrypoint_test.sh: the entrypoint run as the pod runs it (uid 10001, read-only root,
#      env from the rendered dev ConfigMap and Secret) answers /readyz 200;
#   6. backup_test.sh: the backup procedure of docs/operations.md against a running server.
# Usage: tests/k8s/run.sh [bin-dir-root]   (default: bazel-bin)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bazel_bin=${1:-$root/bazel-bin}
work=$(mktemp -d /tmp/bkv-k8s-XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | tail -20 | sed 's/^/    /'; failed=$((failed + 1)); }
count() {  # count LOG: adds the PASS/FAIL lines of a sub-check's output
  passed=$((passed + $(grep -c '^PASS ' "$1" || true)))
  failed=$((failed + $(grep -c '^FAIL ' "$1" || true)))
}

# 1. yamllint
if ! command -v yamllint >/dev/null; then
  fail "yamllint k8s/" "yamllint is not installed (scripts/setup.sh installs it)"
elif out=$(yamllint -s -c .yamllint k8s 2>&1); then
  pass "yamllint k8s/"
else
  fail "yamllint k8s/" "$out"
fi

# 2. kustomize
overlays=()
for dir in k8s/overlays/*/; do
  o=$(basename "$dir")
  if out=$(kubectl kustomize "$dir" 2>"$work/$o.err" >"$work/$o.yaml") && [ -s "$work/$o.yaml" ]; then
    pass "kubectl kustomize k8s/overlays/$o"
    overlays+=("$o")
  else
    fail "kubectl kustomize k8s/overlays/$o" "$(cat "$work/$o.err")"
  fi
done

# 3. schemas and invariants
if (cd k8s/validate && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1); then
  pass "npm ci (k8s/validate: kubernetes-models)"
  for o in "${overlays[@]}"; do
    node k8s/validate/validate.js check "$o" "$work/$o.yaml" k8s gateway/http/routes.cc \
      >"$work/check-$o.log" 2>&1
    cat "$work/check-$o.log"
    count "$work/check-$o.log"
    if ! grep -qE '^(PASS|FAIL) ' "$work/check-$o.log"; then fail "validate $o" "$(cat "$work/check-$o.log")"; fi
  done
else
  fail "npm ci (k8s/validate: kubernetes-models)" "$(cat "$work/npm.log")"
fi

# 4. the image's pieces
bins=(services/beyond-kv/beyond-kv services/kv-shard/kv-shard gateway/kv-resp-gateway
      gateway/http/kv-http-gateway)
missing=""
for b in "${bins[@]}"; do [ -x "$bazel_bin/$b" ] || missing+=" $b"; done
if [ -n "$missing" ]; then
  fail "image: runtime-packages.txt covers ldd of the binaries" "not built:$missing"
else
  need=$(for b in "${bins[@]}"; do ldd "$bazel_bin/$b"; done | awk '/=>/ {print $3}' | sort -u |
    while read -r lib; do
      real=$(readlink -f "$lib")
      dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || echo "UNOWNED:$real"
    done | cut -d: -f1 | sort -u)
  listed=$(grep -v '^#' k8s/image/runtime-packages.txt | sort -u)
  extra=$(comm -23 <(echo "$need") <(echo "$listed"))
  if [ -z "$extra" ]; then
    pass "image: runtime-packages.txt covers ldd of the binaries ($(echo "$need" | wc -l) packages)"
  else
    fail "image: runtime-packages.txt covers ldd of the binaries" "missing: $extra"
  fi
fi
problems=""
for f in beyond-kv kv-shard kv-resp-gateway kv-http-gateway; do
  grep -qE "^COPY .*bin/$f( |$)" k8s/Containerfile || problems+=" no COPY of $f;"
done
grep -q '^FROM debian:12-slim' k8s/Containerfile || problems+=" not FROM debian:12-slim;"
grep -qE '^USER 10001' k8s/Containerfile || problems+=" USER is not 10001;"
grep -q 'ENTRYPOINT \["/usr/local/bin/beyond-kv-entrypoint"\]' k8s/Containerfile || problems+=" entrypoint;"
for f in entrypoint.sh kv-backup.sh runtime-packages.txt; do
  [ -f "k8s/image/$f" ] || problems+=" k8s/image/$f missing;"
done
grep -qE '(gcc|g\+\+|clang|-dev)( |$)' k8s/image/runtime-packages.txt && problems+=" a compiler or -dev package;"
if [ -z "$problems" ]; then pass "image: Containerfile (debian:12-slim, binaries, USER 10001, entrypoint)"; else
  fail "image: Containerfile (debian:12-slim, binaries, USER 10001, entrypoint)" "$problems"; fi

# 5. the entrypoint as the pod runs it
if [ -f "$work/dev.yaml" ] && [ -d k8s/validate/node_modules ]; then
  bash tests/k8s/entrypoint_test.sh "$bazel_bin" "$work/dev.yaml" >"$work/entry.log" 2>&1
  cat "$work/entry.log"; count "$work/entry.log"
  grep -qE '^(PASS|FAIL) ' "$work/entry.log" || fail "entrypoint test" "$(cat "$work/entry.log")"
else
  fail "entrypoint test" "the dev overlay did not render or npm ci failed"
fi

# 6. backup and restore
if [ -f tests/k8s/backup_test.sh ]; then
  bash tests/k8s/backup_test.sh "$bazel_bin" >"$work/backup.log" 2>&1
  cat "$work/backup.log"; count "$work/backup.log"
  grep -qE '^(PASS|FAIL) ' "$work/backup.log" || fail "backup test" "$(cat "$work/backup.log")"
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
