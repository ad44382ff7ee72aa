#!/usr/bin/env bash
# Installs what beyond-kv needs to build, run and test on Debian 12, from Debian's archive
# only (no other downloads). Idempotent: installs nothing when everything is present.
# Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  g++ pkg-config bazel-bootstrap
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  liburing-dev libgoogle-glog-dev libgflags-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev libhiredis-dev libxxhash-dev libcli11-dev nlohmann-json3-dev
  redis-server redis-tools python3 python3-redis
  gnuplot-nox
  # --- Fuzzing (tools/fuzz/run.sh): clang 14 with libFuzzer, ASan and UBSan runtimes ---
  clang-14 libclang-rt-14-dev
)
PACKAGES+=(yamllint); command -v kubectl >/dev/null || PACKAGES+=(kubernetes-client)  # k8s checks (tests/k8s, issue 16); kubectl: any kustomize-capable one (Debian's conflicts with others' /usr/bin/kubectl)
# Node.js and npm run the ioredis client test; many machines already have them.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
