#!/usr/bin/env bash
# HTTP benchmark (bash bench/http/run.sh; part of make bench): wrk against nginx static, a bare libfcgi hello-world (the ceiling), /healthz,
# a cached JSON endpoint and the login page, side by side on one private stack. Loopback only, bounded runs.
# Prints a table and regenerates the "http" section of docs/benchmarks.md.
# Env: BENCH_DURATION (10s), BENCH_CONNS ("64 256"), BENCH_THREADS (2), BENCH_NO_DOCS=1 to leave the docs alone.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# two connection counts by default: the saturation point and well past it
export BENCH_CONNS=${BENCH_CONNS:-64 256}
# the stack, the hello-world ceiling beside it, wrk settings and the docs writer (bench/lib.sh)
source "$ROOT/bench/lib.sh"

# a static file through the stack's nginx (its conf.d include), beside lib.sh's hello-world location
mkdir -p "$STACK_DIR/bench/static" "$STACK_DIR/nginx/conf.d"
printf 'Hello, world\n' >"$STACK_DIR/bench/static/hello.txt"
cat >"$STACK_DIR/nginx/conf.d/bench-static.conf" <<EOF
location = /__bench/static.txt {
    alias $STACK_DIR/bench/static/hello.txt;
    access_log off;
}
EOF
bench_stack_up "$STACK_DIR/bench"
"$RSTREAM_BIN" seed >/dev/null

# An account for the endpoints that need a login.
bench_pw="Bench-$(openssl rand -hex 12)"
if "$RSTREAM_BIN" user list | grep -qiF bench@bench.example; then
	"$RSTREAM_BIN" user passwd --email bench@bench.example --password "$bench_pw" >/dev/null
else
	"$RSTREAM_BIN" user add --email bench@bench.example --name Bench --role admin --password "$bench_pw" >/dev/null
fi
token=$(curl -s -H 'Content-Type: application/json' \
	-d "{\"email\":\"bench@bench.example\",\"password\":\"$bench_pw\"}" "$BASE/api/v1/auth/login" |
	python3 -c 'import json,sys; print(json.load(sys.stdin).get("token",""))' 2>/dev/null || true)

# name|path|auth  (auth=1: send the bearer token)
targets=(
	"nginx static file|/__bench/static.txt|0"
	"GET /healthz|/healthz|0"
	"GET /api/v1/stats/summary (cached JSON)|/api/v1/stats/summary|1"
	"GET /login (HTML page)|/login|0"
)

# to_ms "1.23ms" -> 1.23
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
		printf "%.2f", n }'
}

# measure NAME PATH AUTH KEY: one wrk run after a short warm-up; appends a row to results, req/s to rps[KEY]
measure() {
	local name=$1 path=$2 auth=$3 key=$4 code out r p99 non2xx sockerr errs
	local hdr=()
	[ "$auth" = 1 ] && hdr=(-H "Authorization: Bearer $token")
	code=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$BASE$path" || true)
	if [ "$code" != 200 ]; then
		echo "bench: skipping $name: $path answered $code" >&2
		results+=("$conns|$name|skipped ($code)|-|-|-")
		return
	fi
	# a short unrecorded warm-up: caches, connections, the workers' first requests
	wrk -t"$THREADS" -c"$conns" -d2s --timeout 5s "${hdr[@]}" "$BASE$path" >/dev/null 2>&1 || true
	out=$(wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency --timeout 5s "${hdr[@]}" "$BASE$path" 2>&1) || true
	r=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(bench_p99 "$out")
	if [ -z "$r" ] || [ -z "$p99" ]; then
		echo "bench: wrk gave no result for $path:" >&2
		echo "$out" >&2
		results+=("$conns|$name|failed|-|-|-")
		return
	fi
	non2xx=$(bench_non2xx "$out")
	sockerr=$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); print}' <<<"$out")
	errs=${non2xx:-0}
	[ -n "$sockerr" ] && errs="$errs; socket: $sockerr"
	rps[$key]=$r
	results+=("$conns|$name|$(printf '%.0f' "$r")|$(to_ms "$p99")|$errs|$key")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
results=()
for conns in $CONNS; do
	declare -A rps=()
	# the ceiling is measured before and after the others, and their mean is the 100 %, so a machine that
	# gets busier or quieter during the run biases no target
	measure "hello-world FastCGI (ceiling, first)" /__bench/hello 0 hello1
	for t in "${targets[@]}"; do
		IFS='|' read -r name path auth <<<"$t"
		[ "$path" = /__bench/hello ] && continue
		measure "$name" "$path" "$auth" "$path"
	done
	measure "hello-world FastCGI (ceiling, again)" /__bench/hello 0 hello2
	ceiling=$(awk -v a="${rps[hello1]:-0}" -v b="${rps[hello2]:-0}" 'BEGIN { n = (a > 0) + (b > 0); print n ? (a + b) / n : 0 }')
	for i in "${!results[@]}"; do
		IFS='|' read -r c name r p99 errs key <<<"${results[$i]}"
		[ "$c" = "$conns" ] || continue
		ratio=-
		if [[ $r =~ ^[0-9]+$ ]] && [ "$(printf '%.0f' "$ceiling")" != 0 ]; then
			ratio=$(awk -v a="${rps[$key]}" -v b="$ceiling" 'BEGIN { printf "%.0f %%", 100 * a / b }')
		fi
		results[$i]="$c|$name|$r|$p99|$errs|$ratio"
	done
	unset rps
done

table="| connections | target | req/s | p99 (ms) | errors | of hello-world (mean of both runs) |
|---:|---|---:|---:|---|---:|"
for row in "${results[@]}"; do
	IFS='|' read -r c name r p99 errs ratio <<<"$row"
	table+=$'\n'"| $c | $name | $r | $p99 | $errs | $ratio |"
done

cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
section="Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB;
wrk -t$THREADS -d$DURATION on loopback; rstream fcgi with $WORKERS workers (build: $(basename "$(dirname "$RSTREAM_BIN")")).
wrk, nginx and the workers share the same $(nproc) cores, so absolute numbers are low; the ratios are the point.
Load average before the run: $LOAD_BEFORE (other processes on the machine skew single runs; compare ratios).

$table"

echo
echo "$section"

bench_write_section http "HTTP (bench/http/run.sh)" "$section"
