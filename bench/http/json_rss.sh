#!/usr/bin/env bash
# Worker RSS after the worst JSON requests (issue 7, finding 1), on the optimised build (ASan inflates RSS,
# so the sanitizer test in tests/integration/test_harden_limits.c measures growth and this measures size).
# bash bench/http/json_rss.sh   Env: BENCH_HTTP_PORT/BENCH_PG_PORT/BENCH_REDIS_PORT, RSTREAM_BIN (build/rstream),
# RSS_LIMIT_MB (32, SPEC §4). Exits 1 when a worker ends at or above the limit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export STACK_DIR=${BENCH_STACK_DIR:-$ROOT/var/bench-rss}
export HTTP_PORT=${BENCH_HTTP_PORT:-19080}
export PG_PORT=${BENCH_PG_PORT:-19433}
export REDIS_PORT=${BENCH_REDIS_PORT:-19380}
export RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
export RSTREAM_WORKERS=${RSTREAM_WORKERS:-2}
[ -x "$RSTREAM_BIN" ] || { echo "bench: $RSTREAM_BIN is missing (make)" >&2; exit 1; }

stack() { bash "$ROOT/scripts/stack.sh" "$@"; }
trap 'stack stop >/dev/null 2>&1 || true' EXIT
stack stop >/dev/null 2>&1 || true
stack start
eval "$(stack env)"
pw="Bench-$(openssl rand -hex 12)"
"$RSTREAM_BIN" user add --email rss@bench.example --name Bench --role admin --password "$pw" >/dev/null 2>&1 ||
	"$RSTREAM_BIN" user passwd --email rss@bench.example --password "$pw" >/dev/null
token=$(curl -s -H 'Content-Type: application/json' -d "{\"email\":\"rss@bench.example\",\"password\":\"$pw\"}" \
	"http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
echo "| worker pid | RSS before (MB) | RSS after (MB) | < ${RSS_LIMIT_MB:-32} MB |"
echo "|---|---|---|---|"
python3 bench/http/json_rss.py "http://127.0.0.1:$HTTP_PORT" "$STACK_DIR/run/fcgi.pid" "$token" "${RSS_LIMIT_MB:-32}"
