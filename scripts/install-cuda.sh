#!/usr/bin/env bash
# Installs the CUDA 11.8 toolkit from Debian 12's non-free section: nvcc (to rebuild the PTX under
# kernels/), cuda.h and a linkable libcuda.so stub (so `go build -tags cuda` links). No GPU or
# driver is needed. Idempotent: a second run with nvcc present does nothing. Needs root (or sudo).
set -euo pipefail

if command -v nvcc >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 && [ -f /usr/include/cuda.h ] && [ -e /usr/lib/x86_64-linux-gnu/libcuda.so ]; then
	echo "install-cuda: $(nvcc --version | tail -n 2 | head -n 1) already installed"
	exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi

# Enable contrib and non-free on the Debian sources (deb822 *.sources or one-line sources.list).
enable_nonfree() {
	local changed=0 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		grep -q 'debian' "$f" || continue
		if grep -E '^Components:' "$f" | grep -qvE 'non-free( |$)'; then
			$SUDO sed -i -E '/^Components:/{/non-free( |$)/!s/$/ non-free/}; /^Components:/{/contrib/!s/$/ contrib/}' "$f"
			changed=1
		fi
	done
	if [ -f /etc/apt/sources.list ]; then
		if grep -E '^deb .*debian' /etc/apt/sources.list | grep -qvE 'non-free( |$)'; then
			$SUDO sed -i -E '/^deb .*debian/{/non-free( |$)/!s/$/ non-free/}; /^deb .*debian/{/contrib/!s/$/ contrib/}' /etc/apt/sources.list
			changed=1
		fi
	fi
	echo "install-cuda: contrib/non-free enabled (changed=$changed)"
}

enable_nonfree
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# nvidia-cuda-toolkit pulls nvidia-cuda-dev (cuda.h) and libcuda1 (libcuda.so to link against;
# it does nothing without a GPU). No recommends: the profilers, documentation and a JRE are not
# needed to emit PTX and link. g++ compiles the kernels for engine/cuda's host emulator (cgo).
$SUDO apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit nvidia-cuda-dev g++
nvcc --version | tail -n 2
