#!/usr/bin/env bash
# Builds the libFuzzer targets of tools/fuzz/ with clang 14 (ASan + UBSan + libFuzzer) straight
# from the sources they need, then runs each for SECONDS (default 30) from its seed corpus.
#
#   bash tools/fuzz/run.sh [SECONDS] [TARGET...]      # targets: see TARGETS below; default all
#
# Prints "PASS fuzz <target>" or "FAIL fuzz <target>" per target and exits 1 if any failed
# (build failure, crash, leak, sanitizer report or broken invariant); for a crash it prints the
# reproducer's path. Reproduce with: tools/fuzz/.build/<target> <reproducer>.
#
# Objects are cached in tools/fuzz/.build (rebuilt when the source or any project header is
# newer). New corpus entries go to tools/fuzz/.build/corpus/<target>; the committed seeds in
# tools/fuzz/corpus/<target> are only read. Extra libFuzzer flags: FUZZ_FLAGS="-jobs=2 ...".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-30}
shift || true

CXX=${CXX:-clang++-14}
BUILD=$ROOT/tools/fuzz/.build
mkdir -p "$BUILD/obj" "$BUILD/corpus" "$BUILD/artifacts" "$BUILD/logs"
CXXFLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
          -fno-sanitize-recover=undefined -I"$ROOT" -DGLOG_CUSTOM_PREFIX_SUPPORT -w)
LDFLAGS=(-fsanitize=fuzzer,address,undefined)

# Abseil as //third_party:absl links it (its linkopts, read from third_party/BUILD.bazel).
mapfile -t ABSL < <(awk '/name = "absl"/{f=1} f&&/"-l/{gsub(/[",[:space:]]/,""); print} f&&/^\)/{exit}' \
  third_party/BUILD.bazel)
GLOG=(-lglog -lgflags)

# Per target: its sources (besides tools/fuzz/<target>.cc) and libraries. The engine's sources
# are what Bazel builds //engine:engine and //engine:hint_file from (bazel query), so a new
# engine source cannot be missing here (it once was: common/random_seed.cc).
bazel_srcs() {
  bazel query --noshow_progress "kind('source file', deps($1))" 2>/dev/null |
    grep -E '^//.*\.cc$' | sed 's|^//||; s|:|/|' | tr '\n' ' '
}
ENGINE_SRCS=$(bazel_srcs //engine:engine)
HINT_SRCS=$(bazel_srcs //engine:hint_file)
if [[ "$ENGINE_SRCS" != *engine/log_engine.cc* || "$HINT_SRCS" != *engine/hint_file.cc* ]]; then
  echo "FAIL fuzz (bazel query found no engine sources)"
  exit 1
fi
declare -A SRCS=(
  [resp_parser_fuzzer]="gateway/resp_parser.cc"
  [glob_fuzzer]="common/glob.cc"
  [http_parse_fuzzer]="gateway/http/query.cc gateway/http/base64url.cc gateway/http/list_pages.cc"
  [hint_file_fuzzer]="$HINT_SRCS"
  [record_recovery_fuzzer]="$ENGINE_SRCS"
)
declare -A LIBS=(
  [resp_parser_fuzzer]="${ABSL[*]}"
  [glob_fuzzer]=""
  [http_parse_fuzzer]="${ABSL[*]}"
  [hint_file_fuzzer]="${GLOG[*]} ${ABSL[*]}"
  [record_recovery_fuzzer]="${GLOG[*]} -luring -lxxhash ${ABSL[*]}"
)
TARGETS=(resp_parser_fuzzer glob_fuzzer http_parse_fuzzer hint_file_fuzzer record_recovery_fuzzer)
if [ $# -gt 0 ]; then TARGETS=("$@"); fi

# Compiles $1 (a .cc path relative to ROOT) into the object cache; prints the object's path.
compile() {
  local src=$1 obj="$BUILD/obj/${1//\//_}.o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || \
     [ -n "$(find common engine gateway tools/fuzz -name '*.h' -newer "$obj" -print -quit)" ]; then
    "$CXX" "${CXXFLAGS[@]}" -c "$src" -o "$obj.tmp" >&2 && mv "$obj.tmp" "$obj" || return 1
  fi
  echo "$obj"
}

build() {
  local t=$1 objs=() o src
  for src in tools/fuzz/$t.cc ${SRCS[$t]}; do
    o=$(compile "$src") || return 1
    objs+=("$o")
  done
  # shellcheck disable=SC2086
  "$CXX" "${LDFLAGS[@]}" "${objs[@]}" ${LIBS[$t]} -o "$BUILD/$t"
}

failed=0
for t in "${TARGETS[@]}"; do
  if [ -z "${SRCS[$t]+x}" ]; then echo "FAIL fuzz $t (unknown target)"; failed=1; continue; fi
  echo "== fuzz $t: build" >&2
  if ! build "$t" 2>"$BUILD/logs/$t.build.log"; then
    cat "$BUILD/logs/$t.build.log" >&2
    echo "FAIL fuzz $t (build)"
    failed=1
    continue
  fi
  mkdir -p "$BUILD/corpus/$t"
  rm -f "$BUILD/artifacts/$t"-*
  echo "== fuzz $t: ${SECONDS_PER_TARGET}s" >&2
  log="$BUILD/logs/$t.log"
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$BUILD/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
      ${FUZZ_FLAGS:-} "$BUILD/corpus/$t" "tools/fuzz/corpus/$t" >"$log" 2>&1
  code=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  if [ "$code" -eq 0 ]; then
    echo "PASS fuzz $t (${execs:-?} runs)"
  else
    tail -40 "$log" >&2
    repro=$(ls -t "$BUILD/artifacts/$t"-* 2>/dev/null | head -1)
    echo "FAIL fuzz $t (exit $code; reproducer: ${repro:-none}; log: $log)"
    failed=1
  fi
done
exit "$failed"
