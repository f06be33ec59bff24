#!/usr/bin/env bash
# Keeps one process of the local stack running, as systemd's Restart=always does on a host: when it exits it is
# started again after a backoff (1 s, doubling up to 30 s; back to 1 s after it stayed up 60 s), and each exit is
# logged as one JSON line in the process's own log.
# Usage: supervise.sh NAME PIDFILE COMMAND...   TERM/INT/HUP: passed on to the child, which is not restarted.
set -u
name=$1 pidfile=$2
shift 2
child='' stopping=0 delay=1

log() { printf '{"ts":"%s","level":"%s","msg":"supervisor: %s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2"; }
on_signal() {
	stopping=1
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap on_signal TERM INT HUP

while :; do
	started=$SECONDS
	"$@" &
	child=$!
	echo "$child" >"$pidfile"
	# wait returns early when a trapped signal arrives; keep waiting until the child itself is gone
	while :; do
		wait "$child"
		rc=$?
		kill -0 "$child" 2>/dev/null || break
	done
	[ "$stopping" = 1 ] && { log info "rstream $name stopped (exit $rc)"; exit 0; }
	[ $((SECONDS - started)) -ge 60 ] && delay=1
	if [ "$rc" -gt 128 ]; then why="killed by signal $((rc - 128))"; else why="exit status $rc"; fi
	log warn "rstream $name (pid $child) ended: $why; restarting in ${delay}s"
	child=''
	sleep "$delay" &
	wait $! 2>/dev/null
	[ "$stopping" = 1 ] && exit 0
	delay=$((delay * 2 > 30 ? 30 : delay * 2))
done
