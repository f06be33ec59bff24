#!/usr/bin/env bash
# The local R-Stream stack: PostgreSQL, Redis, nginx, the FastCGI pool and a job worker, all under $STACK_DIR.
# Usage: scripts/stack.sh start|stop|status|env, or {stop,start,restart}-{pg,redis} (see docs/operations.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-$ROOT/var}
mkdir -p "$STACK_DIR"
STACK_DIR=$(cd "$STACK_DIR" && pwd)
HTTP_PORT=${HTTP_PORT:-8080}
PG_PORT=${PG_PORT:-5433}
REDIS_PORT=${REDIS_PORT:-6380}
RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
case $RSTREAM_BIN in /*) ;; *) RSTREAM_BIN=$ROOT/$RSTREAM_BIN ;; esac
STACK_FSYNC=${STACK_FSYNC:-on}          # tests/run.sh sets off: a throw-away database needs no durability
STACK_NO_APP=${STACK_NO_APP:-0}         # 1: PostgreSQL, Redis and nginx only (debugging the stack itself)
STACK_TIMEOUT=${STACK_TIMEOUT:-60}      # seconds to wait for readiness / for a process to stop
STACK_REPLICA=${STACK_REPLICA:-0}       # 1: WAL for a streaming replica (scripts/scale_stack.sh)

RUN=$STACK_DIR/run
LOG=$STACK_DIR/log
DATA=$STACK_DIR/data        # never from the environment: a shell that eval-ed another stack's env must not leak in
PG_DATA=$STACK_DIR/pg
PG_SOCK=$RUN/pg
PG_LOG=$LOG/postgres.log
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
FCGI_SOCK=$RUN/fcgi.sock
PG_OS_USER=rstream

say() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# PostgreSQL refuses to run as root, so as root its programs run as the unprivileged user `rstream`.
as_pg() {
	if is_root; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

# pid_alive PIDFILE WORD: the pid in the file is a live process whose command line contains WORD
# (guards against a stale pid file naming a recycled pid).
pid_of() { [ -s "$1" ] && head -n 1 "$1" | tr -dc '0-9'; }
pid_alive() {
	local pid; pid=$(pid_of "$1") || return 1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# A process that exited but is not reaped yet (a daemon's parent is pid 1, which may reap late) counts as gone.
running() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

# stop_pid NAME PIDFILE WORD [SIGNAL]: signal, wait up to STACK_TIMEOUT, then KILL. Quiet when not running.
stop_pid() {
	local name=$1 file=$2 word=$3 sig=${4:-TERM} pid i
	if ! pid_alive "$file" "$word"; then rm -f "$file"; return 0; fi
	pid=$(pid_of "$file")
	kill "-$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < STACK_TIMEOUT * 20; i++)); do
		running "$pid" || break
		# the job worker lets a running job finish, the FastCGI master drains: say why we wait
		[ "$i" = 40 ] && say "waiting for $name to finish what it is doing (up to ${STACK_TIMEOUT}s, then KILL)"
		sleep 0.05
	done
	if running "$pid"; then
		say "$name (pid $pid) did not stop in ${STACK_TIMEOUT}s; killing"
		kill -KILL "$pid" 2>/dev/null || true
		# the FastCGI master's children go with it
		pkill -KILL -P "$pid" 2>/dev/null || true
	fi
	rm -f "$file"
	say "stopped $name"
}

# port_free PORT VAR WHAT: fail early, naming the holder, when a port we are about to listen on is taken.
port_free() {
	local port=$1 var=$2 what=$3 holder
	holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
	[ -z "$holder" ] && return 0
	holder=$(grep -o 'users:(([^)]*))' <<<"$holder" | head -n 1)
	die "$what: port $port on 127.0.0.1 is already in use${holder:+ ($holder)}; stop that (make stop, or STACK_DIR=... scripts/stack.sh stop) or choose another port with $var=..."
}

fail_with_log() {
	local msg=$1 log=$2
	say "$msg"
	if [ -f "$log" ]; then
		echo "---- last lines of $log ----" >&2
		tail -n 40 "$log" >&2
		echo "----" >&2
	fi
	exit 1
}

ensure_secret() {   # ensure_secret FILE: 64 hex chars, made once, kept across runs
	local f=$1
	if [ ! -s "$f" ]; then
		(umask 077; openssl rand -hex 32 >"$f.tmp" 2>/dev/null || od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$f.tmp")
		mv "$f.tmp" "$f"
	fi
	chmod 600 "$f"
	tr -d '\n' <"$f"
}

prepare_dirs() {
	mkdir -p "$RUN" "$LOG" "$DATA"/{hls,uploads,tmp/upload} "$STACK_DIR"/nginx/{tmp,conf.d} "$STACK_DIR/redis"
	SECRET=$(ensure_secret "$STACK_DIR/secret")
	HLS_SECRET=$(ensure_secret "$STACK_DIR/hls_secret")
	# a unix socket path must fit in sun_path (108 bytes)
	[ ${#FCGI_SOCK} -lt 100 ] || die "STACK_DIR is too deep for a unix socket path: $FCGI_SOCK"
}

export_app_env() {
	export DATABASE_URL="postgresql://rstream@127.0.0.1:$PG_PORT/rstream"
	export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	export RSTREAM_SECRET="$SECRET"
	export RSTREAM_HLS_SECRET="$HLS_SECRET"
	export RSTREAM_LISTEN="unix:$FCGI_SOCK"
	export RSTREAM_DATA_DIR="$DATA"
	export RSTREAM_ROOT="$ROOT"
	export RSTREAM_PUBLIC_URL="http://127.0.0.1:$HTTP_PORT"
	export RSTREAM_CONFIG="${RSTREAM_CONFIG:-$ROOT/conf/rstream.conf}"
	export RSTREAM_LOG_DIR="$LOG"   # access.log, error.log, security.log (reopened on SIGHUP)
}

# ---- PostgreSQL -------------------------------------------------------------------------------
pg_prepare_user() {
	is_root || return 0
	if ! id "$PG_OS_USER" >/dev/null 2>&1; then
		useradd --system --user-group --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin "$PG_OS_USER"
		say "created system user $PG_OS_USER (runs PostgreSQL, which refuses root)"
	fi
}

# Where the cluster lives. Normally $STACK_DIR/pg. When the stack runs as root under a directory the
# unprivileged user cannot enter (a checkout in /root), the cluster goes to /var/lib/rstream-stack/<hash>
# and $STACK_DIR/pg is a symlink to it; a wiped stack dir (no symlink) means that copy is stale.
PG_FALLBACK_ROOT=/var/lib/rstream-stack
pg_locate() {   # pg_locate [create]
	if [ -L "$STACK_DIR/pg" ]; then
		PG_DATA=$(readlink "$STACK_DIR/pg")
		PG_SOCK=$(dirname "$PG_DATA")/sock
		PG_LOG=$(dirname "$PG_DATA")/postgres.log
		return 0
	fi
	[ "${1:-}" = create ] && [ ! -e "$STACK_DIR/pg" ] && is_root || return 0
	as_pg test -x "$STACK_DIR" 2>/dev/null && return 0
	local base
	base=$PG_FALLBACK_ROOT/$(printf '%s' "$STACK_DIR" | md5sum | cut -c1-12)
	if [ -s "$base/pg/postmaster.pid" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$base/pg" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$base"
	mkdir -p "$base/pg" "$base/sock"
	chown -R "$PG_OS_USER:" "$base"
	chmod 755 "$PG_FALLBACK_ROOT" "$base"
	ln -s "$base/pg" "$STACK_DIR/pg"
	say "$PG_OS_USER cannot enter $STACK_DIR: PostgreSQL data in $base/pg"
	pg_locate
	ln -sfn "$PG_LOG" "$LOG/postgres.log"
}

pg_start() {
	[ -x "$PG_BIN/postgres" ] || die "PostgreSQL server not found under /usr/lib/postgresql: run scripts/deps.sh"
	pg_prepare_user
	pg_locate create
	mkdir -p "$PG_DATA" "$PG_SOCK"
	[ -e "$PG_LOG" ] || touch "$PG_LOG"
	if is_root; then
		chown "$PG_OS_USER:" "$PG_DATA" "$PG_SOCK" "$(readlink -f "$PG_LOG")"
		as_pg test -w "$PG_DATA" || die "user $PG_OS_USER cannot write $PG_DATA"
	fi
	chmod 700 "$PG_DATA"
	if [ ! -s "$PG_DATA/PG_VERSION" ]; then
		say "initialising PostgreSQL in $PG_DATA"
		as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
			>>"$PG_LOG" 2>&1 || fail_with_log "initdb failed" "$PG_LOG"
		echo "include_if_exists = 'rstream-stack.conf'" >>"$PG_DATA/postgresql.conf"
	fi
	local durable=on wal_level=minimal senders=0
	[ "$STACK_FSYNC" = off ] && durable=off
	[ "$STACK_REPLICA" = 1 ] && wal_level=replica senders=4
	# Rewritten on every start so a changed port or durability setting takes effect.
	as_pg tee "$PG_DATA/rstream-stack.conf" >/dev/null <<EOF
# written by scripts/stack.sh on every start; edit the script, not this file
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 300
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
effective_cache_size = 4GB
fsync = $durable
full_page_writes = $durable
synchronous_commit = off
wal_level = $wal_level
max_wal_senders = $senders
max_wal_size = 4GB
checkpoint_timeout = 15min
timezone = 'UTC'
log_timezone = 'UTC'
log_min_duration_statement = 1000
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		say "PostgreSQL already running"
	else
		port_free "$PG_PORT" PG_PORT PostgreSQL
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$STACK_TIMEOUT" start >/dev/null \
			|| fail_with_log "PostgreSQL did not start on port $PG_PORT" "$PG_LOG"
	fi
	local i
	for ((i = 0; i < STACK_TIMEOUT * 10; i++)); do
		"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
		sleep 0.1
	done
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || fail_with_log "PostgreSQL is not ready on port $PG_PORT" "$PG_LOG"
	# role and database, once
	local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tA)
	if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='rstream'")" != 1 ]; then
		"${psql[@]}" -c "CREATE ROLE rstream LOGIN" >/dev/null
	fi
	if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='rstream'")" != 1 ]; then
		"${psql[@]}" -c "CREATE DATABASE rstream OWNER rstream ENCODING 'UTF8' TEMPLATE template0" >/dev/null
		say "created database rstream"
	fi
}

pg_stop() {
	pg_locate
	[ -s "$PG_DATA/postmaster.pid" ] || return 0
	if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STACK_TIMEOUT" stop >/dev/null 2>&1 \
			|| { say "PostgreSQL did not stop; sending KILL"; kill -KILL "$(head -n 1 "$PG_DATA/postmaster.pid")" 2>/dev/null || true; }
		say "stopped PostgreSQL"
	fi
}

# ---- Redis ------------------------------------------------------------------------------------
redis_start() {
	command -v redis-server >/dev/null || die "redis-server not found: run scripts/deps.sh"
	cat >"$STACK_DIR/redis/redis.conf" <<EOF
# written by scripts/stack.sh on every start
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $RUN/redis.pid
logfile $LOG/redis.log
dir $STACK_DIR/redis
appendonly yes
appendfsync everysec
save ""
maxclients 4096
EOF
	if pid_alive "$RUN/redis.pid" redis-server; then
		say "Redis already running"
	else
		port_free "$REDIS_PORT" REDIS_PORT Redis
		redis-server "$STACK_DIR/redis/redis.conf" || fail_with_log "Redis did not start" "$LOG/redis.log"
	fi
	local i
	for ((i = 0; i < STACK_TIMEOUT * 10; i++)); do
		[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	fail_with_log "Redis is not answering on port $REDIS_PORT" "$LOG/redis.log"
}

redis_stop() { stop_pid Redis "$RUN/redis.pid" redis-server; }

# ---- nginx ------------------------------------------------------------------------------------
nginx_render() {
	local user_line=""
	is_root && user_line="user root;"
	# sed with | as delimiter: none of the values contain it (paths, hex secret, numbers)
	sed -e "s|@STACK_DIR@|$STACK_DIR|g" \
	    -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
	    -e "s|@RSTREAM_ROOT@|$ROOT|g" \
	    -e "s|@DATA_DIR@|$DATA|g" \
	    -e "s|@FCGI_SOCKET@|$FCGI_SOCK|g" \
	    -e "s|@HLS_SECRET@|$HLS_SECRET|g" \
	    -e "s|@USER_LINE@|$user_line|g" \
	    "$ROOT/conf/nginx.conf.in" >"$STACK_DIR/nginx/nginx.conf.new"
	chmod 600 "$STACK_DIR/nginx/nginx.conf.new"
	mv "$STACK_DIR/nginx/nginx.conf.new" "$STACK_DIR/nginx/nginx.conf"
}

nginx_cmd() { nginx -p "$STACK_DIR/nginx" -c "$STACK_DIR/nginx/nginx.conf" -e "$LOG/nginx-error.log" "$@"; }

nginx_start() {
	command -v nginx >/dev/null || die "nginx not found: run scripts/deps.sh"
	nginx_render
	nginx_cmd -t -q 2>>"$LOG/nginx-error.log" || fail_with_log "nginx configuration is invalid" "$LOG/nginx-error.log"
	if pid_alive "$RUN/nginx.pid" nginx; then
		nginx_cmd -s reload 2>>"$LOG/nginx-error.log" || fail_with_log "nginx reload failed" "$LOG/nginx-error.log"
		say "nginx reloaded"
	else
		port_free "$HTTP_PORT" HTTP_PORT nginx
		nginx_cmd 2>>"$LOG/nginx-error.log" || fail_with_log "nginx did not start on 127.0.0.1:$HTTP_PORT" "$LOG/nginx-error.log"
	fi
}

nginx_stop() { stop_pid nginx "$RUN/nginx.pid" nginx QUIT; }

# ---- rstream ----------------------------------------------------------------------------------
# `rstream NAME` under scripts/supervise.sh (restart with backoff, logged), in its own session. run/NAME.pid
# holds the process itself (rewritten on each restart), run/NAME.supervisor.pid the supervisor.
app_start_one() {
	local name=$1 i
	app_stop_one "$name"
	rm -f "$RUN/$name.pid"
	setsid bash "$ROOT/scripts/supervise.sh" "$name" "$RUN/$name.pid" "$RSTREAM_BIN" "$name" \
		</dev/null >>"$LOG/$name.log" 2>&1 &
	echo $! >"$RUN/$name.supervisor.pid"
	for ((i = 0; i < 100; i++)); do [ -s "$RUN/$name.pid" ] && break; sleep 0.05; done
}

app_stop_one() {   # the supervisor passes TERM on and waits (drain); the process itself only if it was orphaned
	stop_pid "rstream $1 supervisor" "$RUN/$1.supervisor.pid" supervise.sh
	stop_pid "rstream $1" "$RUN/$1.pid" rstream
}

# The audit log is append-only for the app's role (conf/postgres/audit_lock.sql, run as the superuser). Migrations
# run as that role, so the table is handed back to it for the time of `rstream migrate` and locked again after.
audit_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d rstream -tA "$@"; }
audit_unlock() {
	audit_psql -c "DO \$\$ BEGIN IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'audit_log' AND tableowner = 'rstream_audit') THEN
		ALTER TABLE audit_log OWNER TO rstream; ALTER FUNCTION audit_purge(integer) OWNER TO rstream;
		ALTER FUNCTION audit_pseudonymise(text[], text) OWNER TO rstream; END IF; END \$\$" >>"$LOG/migrate.log" 2>&1 \
		|| fail_with_log "could not unlock audit_log for the migrations" "$LOG/migrate.log"
}
audit_lock() {
	audit_psql -v app=rstream -f "$ROOT/conf/postgres/audit_lock.sql" >>"$LOG/migrate.log" 2>&1 \
		|| fail_with_log "could not make audit_log append-only" "$LOG/migrate.log"
}

app_start() {
	[ -x "$RSTREAM_BIN" ] || die "$RSTREAM_BIN is missing: build it first (make)"
	audit_unlock
	"$RSTREAM_BIN" migrate >>"$LOG/migrate.log" 2>&1 || fail_with_log "rstream migrate failed" "$LOG/migrate.log"
	audit_lock
	rm -f "$FCGI_SOCK"
	local lines0
	touch "$LOG/fcgi.log"
	lines0=$(wc -l <"$LOG/fcgi.log")
	app_start_one fcgi
	app_start_one worker
	local i code=000
	for ((i = 0; i < STACK_TIMEOUT * 5; i++)); do
		# a master that cannot start (port, config) is restarted by its supervisor for ever: give up after 3 tries
		[ "$(tail -n "+$((lines0 + 1))" "$LOG/fcgi.log" | grep -c 'supervisor: rstream fcgi')" -lt 3 ] \
			|| fail_with_log "rstream fcgi keeps exiting" "$LOG/fcgi.log"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$HTTP_PORT/healthz" || true)
		[ "$code" = 200 ] && break
		sleep 0.2
	done
	[ "$code" = 200 ] || fail_with_log "GET /healthz answered $code after ${STACK_TIMEOUT}s" "$LOG/fcgi.log"
	pid_alive "$RUN/worker.pid" rstream || fail_with_log "rstream worker exited" "$LOG/worker.log"
}

app_stop() {
	app_stop_one worker
	app_stop_one fcgi
	rm -f "$FCGI_SOCK"
}

# ---- commands ---------------------------------------------------------------------------------
cmd_start() {
	prepare_dirs
	export_app_env
	pg_start
	redis_start
	nginx_start
	if [ "$STACK_NO_APP" = 1 ]; then
		say "up without the app (STACK_NO_APP=1): nginx on http://127.0.0.1:$HTTP_PORT/"
		return 0
	fi
	app_start
	say "up: http://127.0.0.1:$HTTP_PORT/ (logs in $LOG)"
}

cmd_stop() {
	# an Apache started in front of this stack (scripts/apache.sh, the Apache test) goes first
	bash "$ROOT/scripts/apache.sh" stop || true
	app_stop
	nginx_stop
	redis_stop
	pg_stop
}

cmd_status() {
	local rc=0 name file word
	pg_locate
	if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
		printf '%-10s running (port %s)\n' postgres "$PG_PORT"
	else
		printf '%-10s stopped\n' postgres; rc=1
	fi
	for name in redis:redis.pid:redis-server nginx:nginx.pid:nginx fcgi:fcgi.pid:rstream worker:worker.pid:rstream \
		    fcgi-sup:fcgi.supervisor.pid:supervise.sh worker-sup:worker.supervisor.pid:supervise.sh; do
		IFS=: read -r name file word <<<"$name"
		if pid_alive "$RUN/$file" "$word"; then
			printf '%-10s running (pid %s)\n' "$name" "$(pid_of "$RUN/$file")"
		else
			printf '%-10s stopped\n' "$name"; rc=1
		fi
	done
	return $rc
}

# For the fault suite (tests/integration/test_harden_faults.c): take one dependency away and bring it back.
cmd_pg() {
	case $1 in
		stop) pg_stop ;;
		start) pg_start ;;
		restart) pg_stop; pg_start ;;
	esac
}

cmd_redis() {
	prepare_dirs
	case $1 in
		stop) redis_stop ;;
		start) redis_start ;;
		restart) redis_stop; redis_start ;;
	esac
}

cmd_env() {
	prepare_dirs
	export_app_env
	local v
	for v in DATABASE_URL REDIS_URL RSTREAM_SECRET RSTREAM_HLS_SECRET RSTREAM_LISTEN RSTREAM_DATA_DIR \
		 RSTREAM_ROOT RSTREAM_PUBLIC_URL RSTREAM_CONFIG RSTREAM_LOG_DIR; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'export %s=%q\n' STACK_DIR "$STACK_DIR" RSTREAM_BIN "$RSTREAM_BIN" HTTP_PORT "$HTTP_PORT" \
		PG_PORT "$PG_PORT" REDIS_PORT "$REDIS_PORT"
	[ -n "${RSTREAM_WORKERS:-}" ] && printf 'export RSTREAM_WORKERS=%q\n' "$RSTREAM_WORKERS"
	return 0
}

case ${1:-} in
	start) cmd_start ;;
	stop) cmd_stop ;;
	restart) cmd_stop; cmd_start ;;
	status) cmd_status ;;
	env) cmd_env ;;
	stop-pg|start-pg|restart-pg) cmd_pg "${1%-pg}" ;;
	stop-redis|start-redis|restart-redis) cmd_redis "${1%-redis}" ;;
	*) echo "usage: $0 start|stop|restart|status|env|{stop,start,restart}-pg|{stop,start,restart}-redis" >&2; exit 2 ;;
esac
