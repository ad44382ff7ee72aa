#!/usr/bin/env bash
# Sets up (Debian packages), builds with optimizations and runs beyond-kv from the repository
# root, with its data in ./data by default. Extra arguments go to beyond-kv (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bazel build -c opt //services/beyond-kv
exec bazel-bin/services/beyond-kv/beyond-kv "$@"
