#!/usr/bin/env bash
# Builds the beyond-kv runtime image: the binaries with Bazel (-c opt), staged in k8s/image/bin,
# then `docker build` or `podman build` with k8s/Containerfile if either is installed
# (otherwise it stops after staging and prints the command). Usage:
#   k8s/build-image.sh [image-name:tag]        (default beyond-kv:latest)
# The tests never run a container runtime: tests/k8s/run.sh checks the image's pieces instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-beyond-kv:latest}

bazel build -c opt //services/beyond-kv //services/kv-shard //gateway:kv-resp-gateway \
  //gateway/http:kv-http-gateway //tools/kv-log
stage=k8s/image/bin
rm -rf "$stage" && mkdir -p "$stage"
for b in services/beyond-kv/beyond-kv services/kv-shard/kv-shard gateway/kv-resp-gateway \
         gateway/http/kv-http-gateway tools/kv-log/kv-log; do
  install -m 0755 "bazel-bin/$b" "$stage/"
done
# Built on Debian 12 against Debian 12's libraries: the image must be Debian 12 too.
for b in "$stage"/*; do
  if ldd "$b" | grep -q 'not found'; then echo "build-image: $b has unresolved libraries" >&2; exit 1; fi
done

runtime=""
for r in docker podman; do command -v "$r" >/dev/null && { runtime=$r; break; }; done
if [ -z "$runtime" ]; then
  echo "build-image: binaries staged in $stage; no docker/podman here. Build the image with:" >&2
  echo "  docker build -t $tag -f k8s/Containerfile k8s/image" >&2
  exit 0
fi
"$runtime" build -t "$tag" -f k8s/Containerfile k8s/image
echo "built $tag"
