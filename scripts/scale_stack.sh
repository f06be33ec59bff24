#!/usr/bin/env bash
# Several "hosts" on one machine (the multi-host test, bench/scale): the stack of scripts/stack.sh with WAL for a
# replica (primary PostgreSQL, Redis, nginx, app host A, worker host A), plus a streaming replica made with
# pg_basebackup -R, app host B (a second FastCGI master on its own socket, a second server in nginx's upstream) and
# worker host B. Every app host and worker reads DATABASE_READ_URL = the replica.
# Usage: STACK_DIR=… HTTP_PORT=… PG_PORT=… REDIS_PORT=… REPLICA_PORT=… scripts/scale_stack.sh
#        start|stop|env|stop-replica|start-replica|kill-app-b|kill-worker-b
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${STACK_DIR:?STACK_DIR must be set}" "${HTTP_PORT:?}" "${PG_PORT:?}" "${REDIS_PORT:?}" "${REPLICA_PORT:?}"
mkdir -p "$STACK_DIR"
STACK_DIR=$(cd "$STACK_DIR" && pwd)
export STACK_DIR HTTP_PORT PG_PORT REDIS_PORT STACK_REPLICA=1
RUN=$STACK_DIR/run
LOG=$STACK_DIR/log
REPLICA=$STACK_DIR/replica
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_OS_USER=rstream

say() { printf 'scale: %s\n' "$*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi; }

# the scale stack's own config: the shipped one with a short job lease (a killed worker host's job comes back
# within the test's time) and both hosts' transcode slots at one
write_conf() {
	mkdir -p "$STACK_DIR"
	{ cat "$ROOT/conf/rstream.conf"; printf '\njob_lease_seconds = 12\nworker_transcode_concurrency = 1\n'; } \
		>"$STACK_DIR/rstream.conf"
	export RSTREAM_CONFIG=$STACK_DIR/rstream.conf
	export DATABASE_READ_URL="postgresql://rstream@127.0.0.1:$REPLICA_PORT/rstream"
}

replica_start() {
	if [ ! -s "$REPLICA/PG_VERSION" ]; then
		# the replica's data directory sits beside the primary's (which stack.sh may have put outside STACK_DIR)
		local pgdata; pgdata=$(readlink -f "$STACK_DIR/pg")
		REPLICA=$(dirname "$pgdata")/replica
		rm -rf "$REPLICA"
		mkdir -p "$REPLICA"
		[ "$(id -u)" = 0 ] && chown "$PG_OS_USER:" "$REPLICA"
		chmod 700 "$REPLICA"
		as_pg "$PG_BIN/pg_basebackup" -D "$REPLICA" -R -X stream -c fast -h 127.0.0.1 -p "$PG_PORT" -U postgres \
			>>"$LOG/replica.log" 2>&1 || { tail -n 20 "$LOG/replica.log" >&2; exit 1; }
		[ "$REPLICA" = "$STACK_DIR/replica" ] || ln -sfn "$REPLICA" "$STACK_DIR/replica"
		# the copied stack settings name the primary's port and socket directory
		as_pg sed -i -e "s/^port = .*/port = $REPLICA_PORT/" -e "s|^unix_socket_directories = .*|unix_socket_directories = '$REPLICA'|" \
			"$REPLICA/rstream-stack.conf"
	fi
	REPLICA=$(readlink -f "$STACK_DIR/replica" 2>/dev/null || echo "$REPLICA")
	as_pg "$PG_BIN/pg_ctl" -D "$REPLICA" status >/dev/null 2>&1 && return 0
	as_pg "$PG_BIN/pg_ctl" -D "$REPLICA" -l "$REPLICA/replica.log" -w -t 60 start >/dev/null \
		|| { tail -n 20 "$REPLICA/replica.log" >&2; exit 1; }
	say "replica up on port $REPLICA_PORT"
}

replica_stop() {
	REPLICA=$(readlink -f "$STACK_DIR/replica" 2>/dev/null || echo "$REPLICA")
	[ -s "$REPLICA/postmaster.pid" ] || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$REPLICA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
	say "replica stopped"
}

# kill NAME: a host dies at once (KILL): the process, then what it forked
host_kill() {
	local f=$RUN/$1.pid pid
	[ -s "$f" ] || return 0
	pid=$(head -n 1 "$f")
	kill -STOP "$pid" 2>/dev/null || true
	pkill -KILL -P "$pid" 2>/dev/null || true
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$f"
	say "killed $1 (pid $pid)"
}

host_b_start() {
	eval "$(bash "$ROOT/scripts/stack.sh" env)"
	local sock=$RUN/fcgi-b.sock
	rm -f "$sock"
	RSTREAM_LISTEN="unix:$sock" setsid "$RSTREAM_BIN" fcgi </dev/null >>"$LOG/fcgi-b.log" 2>&1 &
	echo $! >"$RUN/fcgi-b.pid"
	setsid "$RSTREAM_BIN" worker </dev/null >>"$LOG/worker-b.log" 2>&1 &
	echo $! >"$RUN/worker-b.pid"
	local i
	for ((i = 0; i < 200; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
	[ -S "$sock" ] || { tail -n 20 "$LOG/fcgi-b.log" >&2; exit 1; }
	# host B joins nginx's upstream beside host A; a host that refuses connections is skipped (next upstream)
	grep -q "fcgi-b.sock" "$STACK_DIR/nginx/nginx.conf" || \
		sed -i "s|^\(\s*\)server unix:\(.*\)/fcgi.sock;|&\n\1server unix:\2/fcgi-b.sock;|" "$STACK_DIR/nginx/nginx.conf"
	nginx -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf" -e "$LOG/nginx-error.log" -s reload
	sleep 0.5
	say "host B up ($sock, worker pid $(cat "$RUN/worker-b.pid"))"
}

case ${1:-} in
	start)
		write_conf
		bash "$ROOT/scripts/stack.sh" start
		replica_start
		host_b_start ;;
	stop)
		host_kill fcgi-b; host_kill worker-b
		replica_stop
		write_conf
		bash "$ROOT/scripts/stack.sh" stop ;;
	env)
		write_conf
		bash "$ROOT/scripts/stack.sh" env
		printf 'export %s=%q\n' DATABASE_READ_URL "$DATABASE_READ_URL" RSTREAM_CONFIG "$RSTREAM_CONFIG" ;;
	stop-replica) replica_stop ;;
	start-replica) replica_start ;;
	kill-app-b) host_kill fcgi-b ;;
	kill-worker-b) host_kill worker-b ;;
	*) echo "usage: $0 start|stop|env|stop-replica|start-replica|kill-app-b|kill-worker-b" >&2; exit 2 ;;
esac
