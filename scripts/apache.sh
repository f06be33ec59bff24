#!/usr/bin/env bash
# Apache 2.4 in front of the running stack (scripts/stack.sh), with the shipped conf/apache/rstream.conf.in:
# used by tests/integration/test_stack_apache.c to check the Apache URL space like nginx's.
# Usage: scripts/apache.sh start|stop. Listens on 127.0.0.1:$APACHE_PORT (default HTTP_PORT+7), unprivileged
# (as the stack's `rstream` user when run as root), with ServerRoot, pid and logs under $STACK_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/var}
STACK_DIR=$(cd "$STACK_DIR" && pwd)
HTTP_PORT=${HTTP_PORT:-8080}
APACHE_PORT=${APACHE_PORT:-$((HTTP_PORT + 7))}
RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
case $RSTREAM_BIN in /*) ;; *) RSTREAM_BIN=$ROOT/$RSTREAM_BIN ;; esac
MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
AP=$STACK_DIR/apache
RUN=$STACK_DIR/run
LOG=$STACK_DIR/log
RUN_AS=rstream   # the unprivileged user scripts/stack.sh runs PostgreSQL as

say() { printf 'apache: %s\n' "$*" >&2; }
die() { printf 'apache: error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
as_user() { if is_root; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi; }
apache() { as_user /usr/sbin/apache2 -d "$AP" -f "$AP/httpd.conf" "$@"; }

render() {
	mkdir -p "$AP/run" "$LOG"
	# the helper reads the secret from a file only Apache's user can read (never from the config on disk)
	(umask 077; cp "$STACK_DIR/hls_secret" "$AP/hls_secret")
	sed -e "s|@LISTEN@|127.0.0.1:$APACHE_PORT|g" \
	    -e "s|@RSTREAM_ROOT@|$ROOT|g" \
	    -e "s|@DATA_DIR@|$STACK_DIR/data|g" \
	    -e "s|@FCGI_SOCKET@|$RUN/fcgi.sock|g" \
	    -e "s|@RSTREAM_BIN@|$RSTREAM_BIN|g" \
	    -e "s|@HLS_SECRET_FILE@|$AP/hls_secret|g" \
	    "$ROOT/conf/apache/rstream.conf.in" >"$AP/rstream.conf"
	# the server part a Debian host has in apache2.conf + mods-enabled; the site is the shipped template
	cat >"$AP/httpd.conf" <<CONF
# written by scripts/apache.sh on every start
ServerRoot $AP
PidFile $AP/run/apache.pid
DefaultRuntimeDir $AP/run
Mutex file:$AP/run default
Listen 127.0.0.1:$APACHE_PORT
ServerName localhost
ServerTokens Prod
ErrorLog $LOG/apache-error.log
LogLevel warn
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_host_module $MODULES/mod_authz_host.so
LoadModule alias_module $MODULES/mod_alias.so
LoadModule mime_module $MODULES/mod_mime.so
LoadModule rewrite_module $MODULES/mod_rewrite.so
LoadModule headers_module $MODULES/mod_headers.so
LoadModule setenvif_module $MODULES/mod_setenvif.so
LoadModule proxy_module $MODULES/mod_proxy.so
LoadModule proxy_fcgi_module $MODULES/mod_proxy_fcgi.so
TypesConfig /etc/mime.types
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MinSpareThreads 5
MaxSpareThreads 50
MaxRequestWorkers 50
LogFormat "%h %l %u %t \"%r\" %>s %b %D" rstream
CustomLog $LOG/apache-access.log rstream
Include $AP/rstream.conf
CONF
	if is_root; then
		touch "$LOG/apache-error.log" "$LOG/apache-access.log"
		chown -R "$RUN_AS:" "$AP" "$LOG/apache-error.log" "$LOG/apache-access.log"
	fi
}

cmd_start() {
	[ -x /usr/sbin/apache2 ] || die "apache2 not found: run scripts/deps.sh"
	[ -s "$STACK_DIR/hls_secret" ] || die "no stack under $STACK_DIR (scripts/stack.sh start first)"
	is_root && ! id "$RUN_AS" >/dev/null 2>&1 && die "user $RUN_AS is missing (scripts/stack.sh start creates it)"
	cmd_stop
	render
	apache -t 2>>"$LOG/apache-error.log" || { tail -n 20 "$LOG/apache-error.log" >&2; die "configuration is invalid"; }
	apache -k start 2>>"$LOG/apache-error.log" || { tail -n 20 "$LOG/apache-error.log" >&2; die "did not start"; }
	local i code=000
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$APACHE_PORT/healthz" || true)
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	[ "$code" = 200 ] || { tail -n 20 "$LOG/apache-error.log" >&2; die "GET /healthz through Apache answered $code"; }
	say "up: http://127.0.0.1:$APACHE_PORT/"
}

cmd_stop() {
	[ -s "$AP/run/apache.pid" ] || return 0
	local pid i
	pid=$(head -n 1 "$AP/run/apache.pid" | tr -dc '0-9')
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q apache2; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		say "stopped"
	fi
	rm -f "$AP/run/apache.pid"
}

case ${1:-} in
	start) cmd_start ;;
	stop) cmd_stop ;;
	*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
