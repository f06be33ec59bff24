#!/usr/bin/env bash
# make deb: a Debian package of R-Stream built with dpkg-deb from `make install` (PREFIX=/usr, units in
# /lib/systemd/system). Depends are the packages that own the libraries the binary links (objdump NEEDED),
# plus the programs it runs. Usage: scripts/ops_deb.sh BUILD_DIR  → BUILD_DIR/rstream_<version>_<arch>.deb
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
cd "$ROOT"
STAGE=$BUILD/deb/root
VERSION=${DEB_VERSION:-0.$(git log -1 --format=%cd --date=format:%Y%m%d%H%M 2>/dev/null || date +%Y%m%d%H%M)}
ARCH=$(dpkg --print-architecture)
rm -rf "$BUILD/deb"
make -s install BUILD="${1:-build}" DESTDIR="$STAGE" PREFIX=/usr UNITDIR=/lib/systemd/system >/dev/null
rm -f "$STAGE/etc/rstream/rstream.conf"   # the package ships the example; postinst makes the live copy once

deps=$(objdump -p "$STAGE/usr/bin/rstream" | awk '/NEEDED/{print $2}' | while read -r lib; do
	dpkg -S "*/$lib" 2>/dev/null | grep -v -e i386 -e lib32 | head -n 1 | cut -d: -f1
done | sort -u | grep -v -e '^libasan' -e '^libubsan' | paste -sd, | sed 's/,/, /g')
mkdir -p "$STAGE/DEBIAN"
cat >"$STAGE/DEBIAN/control" <<EOT
Package: rstream
Version: $VERSION
Architecture: $ARCH
Maintainer: R-Stream operators <ops@rstream.invalid>
Section: web
Priority: optional
Depends: $deps, adduser, ffmpeg, postgresql-client, openssl
Recommends: nginx, postgresql, redis-server, logrotate
Description: R-Stream video learning platform for school boards
 FastCGI application (rstream fcgi), job worker, backups (rstream backup/restore),
 systemd units with socket activation, nginx and Apache configuration templates.
EOT
echo /etc/rstream/rstream.conf.example >"$STAGE/DEBIAN/conffiles"
echo /etc/rstream/env.example >>"$STAGE/DEBIAN/conffiles"
echo /etc/logrotate.d/rstream >>"$STAGE/DEBIAN/conffiles"
cat >"$STAGE/DEBIAN/postinst" <<'EOT'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	getent passwd rstream >/dev/null || adduser --system --group --home /var/lib/rstream --no-create-home rstream
	getent group www-data >/dev/null || addgroup --system www-data
	install -d -o rstream -g www-data -m 0750 /var/lib/rstream
	install -d -o rstream -g www-data -m 2770 /var/lib/rstream/tmp /var/lib/rstream/tmp/upload
	install -d -o rstream -g adm -m 0750 /var/log/rstream
	[ -e /etc/rstream/rstream.conf ] || install -m 0640 -g rstream /etc/rstream/rstream.conf.example /etc/rstream/rstream.conf
	[ -e /etc/rstream/env ] || install -m 0600 /etc/rstream/env.example /etc/rstream/env
	if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
EOT
cat >"$STAGE/DEBIAN/prerm" <<'EOT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl stop rstream-fcgi.service rstream-fcgi.socket 'rstream-worker@*.service' rstream-backup.timer || true
fi
exit 0
EOT
chmod 755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm"
OUT=$BUILD/rstream_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"
