#!/usr/bin/env bash
# Installs what `make image` and `make image-test` need on Debian 12: podman with runc (crun fails
# on cgroup v1 hosts such as the build machines), mmdebstrap for the base images, uidmap and
# slirp4netns for rootless podman, and python3-numpy, with which image-test reads the run's .npy
# files. Idempotent. Needs root (or sudo).
set -euo pipefail
pkgs=(podman runc mmdebstrap uidmap slirp4netns fuse-overlayfs python3-numpy)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	echo "install-podman: $(podman --version), $(runc --version | head -n 1), mmdebstrap $(mmdebstrap --version | awk '{print $2}') already installed"
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
echo "install-podman: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
