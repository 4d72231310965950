#!/usr/bin/env bash
# Makes the Debian base images Dockerfile.cuda starts from, on machines no registry serves:
#
#   debian:SUITE       mmdebstrap --variant=minbase SUITE with SUITE-updates and SUITE-security in
#                      its sources, merged /usr (what `docker pull debian:SUITE` would give)
#   debian:SUITE-slim  the same with documentation, man pages, info pages and translations removed
#                      and dpkg told to keep them out of later installs (what Debian's -slim is)
#
# usage: scripts/debian-base.sh [SUITE]        (SUITE: bookworm, the default)
#
# Cache: the images themselves. Each is labelled org.gaze.base.date=YYYYMMDD (the day it was made)
# and also tagged debian:SUITE-YYYYMMDD / debian:SUITE-slim-YYYYMMDD; one younger than
# GAZE_BASE_MAX_AGE_DAYS (default 30) is reused, an older one is remade so that security updates
# get in. GAZE_BASE_REFRESH=1 remakes both now. An image without the label (pulled from a
# registry, say) is left alone; a replaced image keeps only its dated tag (remove it with rmi).
# GAZE_DEBIAN_MIRROR / GAZE_DEBIAN_SECURITY choose the mirrors.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/container-engine.sh

suite=${1:-bookworm}
max_age=${GAZE_BASE_MAX_AGE_DAYS:-30}
mirror=${GAZE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${GAZE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
today=$(date -u +%Y%m%d)

# fresh IMAGE: the image exists and either is not ours or is ours and recent enough.
fresh() {
	local made
	"$ENGINE" image inspect "$1" >/dev/null 2>&1 || return 1
	[ "${GAZE_BASE_REFRESH:-0}" = 1 ] && return 1
	made=$("$ENGINE" image inspect --format '{{index .Config.Labels "org.gaze.base.date"}}' "$1" 2>/dev/null || true)
	case "$made" in
	'' | '<no value>') echo "debian-base: $1 exists and was not made here; using it as it is"; return 0 ;;
	esac
	if ! [[ $made =~ ^[0-9]{8}$ ]]; then
		echo "debian-base: $1 has an unreadable org.gaze.base.date ($made); remaking it"
		return 1
	fi
	local age=$((($(date -u -d "$today" +%s) - $(date -u -d "$made" +%s)) / 86400))
	if [ "$age" -lt "$max_age" ]; then
		echo "debian-base: $1 from $made ($age days old, remade after $max_age); using it"
		return 0
	fi
	echo "debian-base: $1 from $made is $age days old; remaking it"
	return 1
}

if fresh "debian:$suite" && fresh "debian:$suite-slim"; then
	exit 0
fi

for tool in mmdebstrap tar; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "debian-base: $tool is needed (Debian: apt-get install mmdebstrap)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/gaze-base.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "debian-base: mmdebstrap --variant=minbase $suite from $mirror (a minute or two; log in $tmp/mmdebstrap.log)"
# The merged-usr hook installs usr-is-merged instead of letting init-system-helpers pull in
# usrmerge, which drags perl (50 MB) into the image.
if ! mmdebstrap --variant=minbase --quiet \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	"$suite" "$tmp/full.tar" \
	"deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" \
	> "$tmp/mmdebstrap.log" 2>&1; then
	tail -n 30 "$tmp/mmdebstrap.log" >&2
	echo "debian-base: mmdebstrap failed" >&2
	exit 1
fi

# Slim: the dpkg configuration that keeps later installs slim, then, below, the files (not the
# directories) under the trees Debian's slim images prune, keeping the copyright files. (GNU tar
# cannot append to an archive it has deleted members from, so the append comes first.)
cp "$tmp/full.tar" "$tmp/slim.tar"
mkdir -p "$tmp/add/etc/dpkg/dpkg.cfg.d"
cat > "$tmp/add/etc/dpkg/dpkg.cfg.d/slim" <<'EOF2'
# Documentation and translations stay out of this image (scripts/debian-base.sh, as in Debian's slim images).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
EOF2
tar --append -f "$tmp/slim.tar" --owner=0 --group=0 --numeric-owner -C "$tmp/add" ./etc/dpkg/dpkg.cfg.d/slim
tar -tf "$tmp/slim.tar" |
	grep -E '^\./usr/share/(doc|man|info|locale|linda|lintian/overrides)/.*[^/]$' |
	grep -vE '^\./usr/share/doc/[^/]+/copyright$|^\./usr/share/locale/locale\.alias$' > "$tmp/prune.txt" || true
tar --delete -f "$tmp/slim.tar" --verbatim-files-from -T "$tmp/prune.txt"
echo "debian-base: pruned $(wc -l < "$tmp/prune.txt") files for the slim image"
# Device nodes: the engine mounts its own /dev, and a rootless import cannot create them.
for flavour in full slim; do
	tar --delete -f "$tmp/$flavour.tar" --wildcards './dev/?*'
done

for flavour in full slim; do
	tag=$suite
	[ $flavour = slim ] && tag=$suite-slim
	"$ENGINE" import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		--change "LABEL org.gaze.base.date=$today" \
		--change "LABEL org.gaze.base.suite=$suite" \
		--change "LABEL org.gaze.base.flavour=$flavour" \
		"$tmp/$flavour.tar" "debian:$tag" >/dev/null 2>"$tmp/import.log" || { cat "$tmp/import.log" >&2; exit 1; }
	"$ENGINE" tag "debian:$tag" "debian:$tag-$today"
	echo "debian-base: made debian:$tag (also debian:$tag-$today)"
done
