#!/usr/bin/env bash
# Install what R-Stream needs on Debian 12, quietly and only when missing. Safe to run every time.
set -euo pipefail

PKGS=(build-essential pkg-config libfcgi-dev libpq-dev libhiredis-dev libjson-c-dev libcsv-dev libjwt-dev
      libssl-dev zlib1g-dev libcriterion-dev postgresql redis-server nginx ffmpeg chromium nodejs npm wrk
      python3 zip unzip curl procps openssl util-linux passwd fonts-ipafont-gothic fonts-dejavu-core
      libcurl4-openssl-dev libqrencode-dev python3-cryptography apache2 libarchive-dev clang libclang-rt-14-dev
      systemd prometheus python3-aiosmtpd libicu-dev poppler-utils poppler-data
      faketime e2fsprogs)

missing=()
for p in "${PKGS[@]}"; do
	case $p in
		# node may come from another repository that bundles npm; the commands are what matters
		nodejs) command -v node >/dev/null 2>&1 && continue ;;
		npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	# `dpkg -s` alone also succeeds for a removed package whose config files remain
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" = 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: install them as root: apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
echo "deps: done" >&2
