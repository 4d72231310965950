# Sourced by the image scripts (scripts/debian-base.sh, image-build.sh, image-test.sh,
# image-export.sh): picks the container engine and the flags that differ between engines.
#
#   GAZE_ENGINE=podman|docker   force one (default: podman where installed, else docker)
#
# Sets ENGINE (the command), ENGINE_NAME (podman or docker) and ROOTLESS (1 for rootless podman).
# engine_ok tells whether the engine can run containers at all (image-test.sh skips only then).

_gaze_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -n "${GAZE_ENGINE:-}" ]; then
	ENGINE_NAME=$GAZE_ENGINE
elif command -v podman >/dev/null 2>&1; then
	ENGINE_NAME=podman
elif command -v docker >/dev/null 2>&1; then
	ENGINE_NAME=docker
else
	ENGINE_NAME=podman # reported as missing by engine_ok
fi
ENGINE=$ENGINE_NAME

if [ "$ENGINE_NAME" = podman ]; then
	# The repository's containers.conf (runc, open-files limit) unless the caller brings one.
	export CONTAINERS_CONF=${CONTAINERS_CONF:-$_gaze_repo/scripts/containers.conf}
	if [ "$CONTAINERS_CONF" = "$_gaze_repo/scripts/containers.conf" ] && ! command -v runc >/dev/null 2>&1; then
		echo "container-engine: scripts/containers.conf selects runc, which is not installed (Debian: apt-get install runc)" >&2
	fi
fi

# engine_ok: the engine answers (podman info / docker info); prints why not otherwise.
engine_ok() {
	if ! command -v "$ENGINE" >/dev/null 2>&1; then
		echo "$ENGINE is not installed"
		return 1
	fi
	local out
	if ! out=$("$ENGINE" info 2>&1 >/dev/null); then
		echo "$ENGINE info failed: $(echo "$out" | tail -n 3)"
		return 1
	fi
}

ROOTLESS=0
if [ "$ENGINE_NAME" = podman ] && [ "$(id -u)" != 0 ]; then
	ROOTLESS=1
fi

# user_flags: the run flags that make files a container writes into a bind mount belong to the
# invoking user on the host. Rootless podman maps the invoking user to itself (keep-id); a
# rootful engine (root podman, docker) runs the process under the invoking user's numeric ids.
user_flags() {
	if [ "$ROOTLESS" = 1 ]; then
		echo "--userns=keep-id"
	else
		echo "--user $(id -u):$(id -g)"
	fi
}

# ca_bundle: the host's CA bundle, which builds need for HTTPS (the module proxy) where the
# network re-signs TLS with a local CA; empty if the host has none.
ca_bundle() {
	local f
	for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
		if [ -n "$f" ] && [ -s "$f" ]; then
			echo "$f"
			return
		fi
	done
}
