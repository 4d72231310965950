#!/usr/bin/env bash
# Builds gaze's images from Dockerfile.cuda (what `make image` runs): the Debian base images first
# where no registry has them (scripts/debian-base.sh), then
#
#   $GAZE_IMAGE      (gaze:cuda)  target cuda: gaze -tags cuda; needs the host's NVIDIA driver
#   $GAZE_IMAGE_CPU  (gaze:cpu)   target cpu: gaze without CUDA
#
# with podman, or docker (BuildKit) where GAZE_ENGINE=docker or podman is missing. The host's CA
# bundle goes in as the build secret "cacert" (networks that re-sign TLS), never into an image.
# Prints the images' sizes at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/container-engine.sh

image=${GAZE_IMAGE:-gaze:cuda}
image_cpu=${GAZE_IMAGE_CPU:-gaze:cpu}

if ! why=$(engine_ok); then
	echo "image-build: the container engine cannot run: $why" >&2
	exit 1
fi
scripts/debian-base.sh bookworm

args=(build -f Dockerfile.cuda)
ca=$(ca_bundle)
if [ -n "$ca" ]; then
	args+=(--secret "id=cacert,src=$ca")
fi
if [ "$ENGINE_NAME" = docker ]; then
	export DOCKER_BUILDKIT=1 # RUN --mount (secret, cache) needs BuildKit
fi

for spec in "cpu:$image_cpu" "cuda:$image"; do
	target=${spec%%:*}
	tag=${spec#*:}
	echo "== image-build: $tag (target $target)"
	start=$(date +%s)
	"$ENGINE" "${args[@]}" --target "$target" -t "$tag" .
	echo "== image-build: $tag built in $(($(date +%s) - start)) s"
done

echo "== image-build: sizes"
for tag in "$image" "$image_cpu"; do
	bytes=$("$ENGINE" image inspect --format '{{.Size}}' "$tag")
	echo "$tag $((bytes / 1000000)) MB ($bytes bytes)"
done
