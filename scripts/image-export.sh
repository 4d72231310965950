#!/usr/bin/env bash
# Copies the CUDA image's gaze out of the image, with engine/cuda's test binary built by the same
# build stage, into DIR (default bin/gpu): the bundle scripts/gpu-check.sh runs on a GPU machine
# that has neither Go nor a container engine, so that the conformance suite checks the very
# binary the image ships.
#
#   scripts/image-export.sh [DIR]     # after make image; then copy DIR and scripts/ to the GPU machine
#   GAZE_BIN=DIR scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/container-engine.sh

image=${GAZE_IMAGE:-gaze:cuda}
dir=${1:-bin/gpu}
mkdir -p "$dir"

args=(build -q -f Dockerfile.cuda --target gpu-bundle)
ca=$(ca_bundle)
if [ -n "$ca" ]; then
	args+=(--secret "id=cacert,src=$ca")
fi
if [ "$ENGINE_NAME" = docker ]; then
	export DOCKER_BUILDKIT=1
fi
echo "image-export: building the gpu-bundle stage (engine/cuda's tests; the rest is cached after make image)"
bundle=$("$ENGINE" "${args[@]}" . | tail -n 1)

containers=()
cleanup() { for c in "${containers[@]}"; do "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
c=$("$ENGINE" create "$image")
containers+=("$c")
"$ENGINE" cp "$c:/usr/local/lib/gaze/gaze" "$dir/gaze"
c=$("$ENGINE" create "$bundle")
containers+=("$c")
"$ENGINE" cp "$c:/out/cuda.test" "$dir/cuda.test"
"$ENGINE" cp "$c:/out/gaze" "$dir/.gaze-bundle"

# The bundle stage builds on the stage that made the image's gaze; if the image is older than the
# sources the two differ, and the check would test something else than the image.
if ! cmp -s "$dir/gaze" "$dir/.gaze-bundle"; then
	rm -f "$dir/.gaze-bundle"
	echo "image-export: $image's gaze differs from the current build stage's: rebuild the image (make image) first" >&2
	exit 1
fi
rm -f "$dir/.gaze-bundle"
chmod 755 "$dir/gaze" "$dir/cuda.test"
ls -la "$dir"
sha256sum "$dir/gaze" "$dir/cuda.test"
