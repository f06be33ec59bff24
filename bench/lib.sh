# Shared by the bench scripts (source it): the private stack, the bare libfcgi hello-world ceiling beside it, and
# wrk helpers. The caller sets ROOT and may set BENCH_* before sourcing.
#   bench_stack_up WORKDIR   start the stack with the hello-world ceiling at /__bench/hello (stopped on exit)
#   bench_wrk PATH [HEADER]  wrk with the common settings; prints its output
#   bench_rps OUTPUT         Requests/sec of a wrk output
#   bench_write_section NAME TITLE TEXT   replace the section NAME of docs/benchmarks.md (unless BENCH_NO_DOCS=1)
#   tree_cpu PID...          CPU seconds used so far by processes and their direct children
#   pgpid                    the stack's postmaster;  bench_stop_worker  stop the stack's job worker (and its supervisor)
export STACK_DIR=${BENCH_STACK_DIR:-$ROOT/var/bench}
export HTTP_PORT=${BENCH_HTTP_PORT:-19080}
export PG_PORT=${BENCH_PG_PORT:-19433}
export REDIS_PORT=${BENCH_REDIS_PORT:-19380}
export RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
WORKERS=${RSTREAM_WORKERS:-$(nproc)}
export RSTREAM_WORKERS=$WORKERS
BASE="http://127.0.0.1:$HTTP_PORT"
DOC=$ROOT/docs/benchmarks.md

command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/deps.sh)" >&2; exit 1; }
[ -x "$RSTREAM_BIN" ] || { echo "bench: $RSTREAM_BIN is missing (make)" >&2; exit 1; }

stack() { bash "$ROOT/scripts/stack.sh" "$@"; }
hello_pid=
bench_cleanup() {
	[ -n "$hello_pid" ] && kill "$hello_pid" 2>/dev/null && wait "$hello_pid" 2>/dev/null
	stack stop >/dev/null 2>&1 || true
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_stack_up() {
	local work=$1
	mkdir -p "$work" "$STACK_DIR/nginx/conf.d" "$STACK_DIR/run"
	cc -O2 -std=c17 -D_GNU_SOURCE "$ROOT/bench/http/hello_fcgi.c" -lfcgi -o "$work/hello_fcgi"
	cat >"$STACK_DIR/nginx/conf.d/bench.conf" <<CONF
location = /__bench/hello {
    fastcgi_pass unix:$STACK_DIR/run/hello.sock;
    include /etc/nginx/fastcgi_params;
}
CONF
	stack stop >/dev/null 2>&1 || true
	"$work/hello_fcgi" "$STACK_DIR/run/hello.sock" "$WORKERS" &
	hello_pid=$!
	stack start
	eval "$(stack env)"
}

bench_wrk() {
	if [ -n "${2:-}" ]; then wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "$2" "$BASE$1" 2>&1 || true
	else wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$BASE$1" 2>&1 || true; fi
}
bench_rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$1"; }
bench_p99() { awk '$1 == "99%" {print $2}' <<<"$1"; }
bench_non2xx() { awk '/Non-2xx/ {print $NF}' <<<"$1"; }

# CPU seconds used so far by a process tree (root pid, plus its children): on a shared machine the CPU a request
# costs is steadier than the rate, and says what 2 dedicated cores would carry
tree_cpu() {   # tree_cpu PID... → seconds (utime + stime of each pid and its direct children)
	local pids=() p
	for p in "$@"; do [ -n "$p" ] && pids+=("$p") && pids+=($(ps -o pid= --ppid "$p" 2>/dev/null)); done
	local ticks=0 f
	for p in "${pids[@]}"; do
		f=/proc/$p/stat
		[ -r "$f" ] || continue
		# roots count their reaped children too (cutime, cstime): recycled FastCGI workers are not lost
		if [[ " $* " == *" $p "* ]]; then ticks=$((ticks + $(awk '{print $14 + $15 + $16 + $17}' "$f")))
		else ticks=$((ticks + $(awk '{print $14 + $15}' "$f"))); fi
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}
pgpid() { head -n 1 "$STACK_DIR/pg/postmaster.pid"; }

# the stack's supervisor would start the worker again at once: it goes first
bench_stop_worker() {
	[ -s "$STACK_DIR/run/worker.supervisor.pid" ] && kill -TERM "$(cat "$STACK_DIR/run/worker.supervisor.pid")" 2>/dev/null && sleep 0.5
	local w
	w=$(cat "$STACK_DIR/run/worker.pid" 2>/dev/null) || return 0
	kill -TERM "$w" 2>/dev/null || true
	while kill -0 "$w" 2>/dev/null; do sleep 0.1; done
}

bench_write_section() {
	local name=$1 title=$2 text=$3
	[ "${BENCH_NO_DOCS:-0}" = 1 ] && return 0
	local begin="<!-- bench:$name:begin -->" end="<!-- bench:$name:end -->"
	grep -qF "$begin" "$DOC" || printf '\n## %s\n\n%s\n%s\n' "$title" "$begin" "$end" >>"$DOC"
	SECTION=$text python3 - "$DOC" "$begin" "$end" <<'PY'
import os, sys
path, begin, end = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
a = text.index(begin) + len(begin)
b = text.index(end, a)
open(path, "w", encoding="utf-8").write(text[:a] + "\n" + os.environ["SECTION"] + "\n" + text[b:])
PY
	echo "bench: wrote ${DOC#"$ROOT"/}"
}
