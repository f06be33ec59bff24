#!/usr/bin/env bash
# Saturation (issue 7, finding 9): wrk with 2,000 and 5,000 concurrent connections against an app endpoint on
# the optimised build, loopback, bounded time. Every answer must be 2xx or a deliberate 503 (+ Retry-After);
# a 502 or a socket error other than a timeout counts as a failure. Prints a table for docs/benchmarks.md.
# Env: BENCH_CONNS ("2000 5000"), BENCH_DURATION (15s), BENCH_PATH (/healthz), BENCH_*_PORT, RSTREAM_BIN.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export STACK_DIR=${BENCH_STACK_DIR:-$ROOT/var/bench-sat}
export HTTP_PORT=${BENCH_HTTP_PORT:-19080}
export PG_PORT=${BENCH_PG_PORT:-19433}
export REDIS_PORT=${BENCH_REDIS_PORT:-19380}
export RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
CONNS=${BENCH_CONNS:-2000 5000}
DURATION=${BENCH_DURATION:-15s}
BPATH=${BENCH_PATH:-/api/v1/categories}
command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/deps.sh)" >&2; exit 1; }
[ -x "$RSTREAM_BIN" ] || { echo "bench: $RSTREAM_BIN is missing (make)" >&2; exit 1; }

# 5,000 client sockets plus nginx's: raise the descriptor limit as far as the hard limit allows
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$(( $(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -n 1) + 200 ))
[ "$(ulimit -n)" -ge "$need" ] || echo "bench: ulimit -n is $(ulimit -n) (< $need): wrk will report connect errors" >&2

stack() { bash "$ROOT/scripts/stack.sh" "$@"; }
trap 'stack stop >/dev/null 2>&1 || true' EXIT
stack stop >/dev/null 2>&1 || true
stack start
base="http://127.0.0.1:$HTTP_PORT"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base$BPATH")
[ "$code" = 200 ] || { echo "bench: $BPATH answered $code" >&2; exit 1; }
backlog=$( (cat "$STACK_DIR/log/error.log" "$STACK_DIR/log/fcgi.log" 2>/dev/null | grep -o "backlog [0-9]*" || true) | tail -n 1 | cut -d" " -f2)
echo "somaxconn $(cat /proc/sys/net/core/somaxconn), FastCGI backlog ${backlog:-?}, workers ${RSTREAM_WORKERS:-$(nproc)}, ulimit -n $(ulimit -n)"
echo
echo "| connections | requests/s | 2xx | 503 (deliberate) | other non-2xx | socket errors (connect/read/write/timeout) |"
echo "|---|---|---|---|---|---|"
fail=0
for c in $CONNS; do
	out=$(wrk -t2 -c"$c" -d"$DURATION" --timeout 10s -s bench/http/saturation.lua "$base$BPATH" 2>&1) || true
	rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
	st=$(grep '^STATUSES' <<<"$out" | cut -d' ' -f2-)
	er=$(grep '^ERRORS' <<<"$out" | sed 's/ERRORS //')
	ok=0 s503=0 other=0
	for kv in $st; do
		k=${kv%%=*} v=${kv#*=}
		if [ "$k" -ge 200 ] && [ "$k" -lt 300 ]; then ok=$((ok + v))
		elif [ "$k" = 503 ]; then s503=$((s503 + v))
		else other=$((other + v)); fi
	done
	IFS=' ' read -r ce re we te <<<"$(sed 's/[a-z]*=//g' <<<"$er")"
	echo "| $c | ${rps:-?} | $ok | $s503 | $other | ${ce:-?}/${re:-?}/${we:-?}/${te:-?} |"
	[ "$other" = 0 ] && [ "${ce:-1}" = 0 ] && [ "${re:-1}" = 0 ] && [ "${we:-1}" = 0 ] || fail=1
done
exit $fail
