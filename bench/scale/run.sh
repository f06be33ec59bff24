#!/usr/bin/env bash
# Scale-out on one machine (issue 16): OneRoster REST reads and catalog pages through one nginx, first with two app
# hosts (two FastCGI masters) + the read replica, then with app host B killed and the replica stopped (one host,
# primary only). Reported as a ratio: on 2 cores the box itself is the limit, so the point is that the second host
# and the replica do not serialise anything (no global lock, no hot row), not that they double anything.
# Usage: bash bench/scale/run.sh   (BENCH_USERS=20000 BENCH_DURATION=10s BENCH_CONNS=64 BENCH_NO_DOCS=1 …)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export BENCH_STACK_DIR=${BENCH_STACK_DIR:-$ROOT/var/bench-scale}
export BENCH_HTTP_PORT=${BENCH_HTTP_PORT:-19280} BENCH_PG_PORT=${BENCH_PG_PORT:-19633} BENCH_REDIS_PORT=${BENCH_REDIS_PORT:-19580}
USERS=${BENCH_USERS:-20000}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
export REPLICA_PORT=$((PG_PORT + 1))
scale() { bash "$ROOT/scripts/scale_stack.sh" "$@"; }
trap 'scale stop >/dev/null 2>&1 || true' EXIT

scale stop >/dev/null 2>&1 || true
scale start
eval "$(scale env)"
API=/ims/oneroster/rostering/v1p2

echo "bench: seeding $USERS roster users and 200 videos" >&2
psql -q -v ON_ERROR_STOP=1 -v users="$USERS" "$DATABASE_URL" <<'SQL'
INSERT INTO roster_orgs (sourced_id, name, type) VALUES ('bench-s1', 'ベンチ小学校', 'school') ON CONFLICT DO NOTHING;
INSERT INTO roster_users (sourced_id, username, given_name, family_name, primary_org_sourced_id, grades)
SELECT format('bench-u%s', i), format('bench%s', i), '太郎', (ARRAY['佐藤','鈴木','田中'])[1 + i % 3], 'bench-s1', ARRAY['P3']
FROM generate_series(1, :users) i ON CONFLICT DO NOTHING;
INSERT INTO videos (public_id, title, status, visibility, duration)
SELECT substr(md5('benchv' || i), 1, 16), format('ベンチ動画 %s', i), 'ready', 'public', 60 FROM generate_series(1, 200) i
ON CONFLICT DO NOTHING;
ANALYZE roster_users; ANALYZE videos;
SQL
secret=$(openssl rand -hex 32)
hash=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "INSERT INTO api_clients (name, client_id, secret_hash, scopes,
  rate_limit_per_min) VALUES ('bench', 'bench-scale', '$hash', '{roster-core.readonly,roster.readonly}', 1000000)"
token=$(curl -s -u "bench-scale:$secret" -d grant_type=client_credentials "$BASE/oauth/token" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
sleep 2   # the replica has replayed the seed

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
targets=(
	"OneRoster users page, filter familyName, offset 500|$API/users?limit=100&offset=500&filter=$(enc "familyName='田中'")|auth"
	"catalog JSON (GET /api/v1/videos)|/api/v1/videos?per_page=20|"
	"catalog page (GET /videos)|/videos|"
)
declare -A two one
run_all() {
	local -n into=$1
	local t name path auth out
	for t in "${targets[@]}"; do
		IFS='|' read -r name path auth <<<"$t"
		if [ -n "$auth" ]; then out=$(bench_wrk "$path" "Authorization: Bearer $token")
		else out=$(bench_wrk "$path"); fi
		into[$name]="$(bench_rps "$out")|$(bench_p99 "$out")|$(bench_non2xx "$out")"
		echo "bench: $name: ${into[$name]}" >&2
	done
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
run_all two
replica_reads=$(curl -s "$BASE/metrics" | awk '/^rstream_db_replica_reads_total/ {print $2}')
scale kill-app-b
scale stop-replica
sleep 2
run_all one

rows=""
for t in "${targets[@]}"; do
	IFS='|' read -r name _ _ <<<"$t"
	IFS='|' read -r r2 p2 e2 <<<"${two[$name]}"
	IFS='|' read -r r1 p1 e1 <<<"${one[$name]}"
	ratio=$(awk -v a="${r2:-0}" -v b="${r1:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	rows+="| $name | ${r1:-?} req/s, p99 ${p1:-?} | ${r2:-?} req/s, p99 ${p2:-?} | $ratio | ${e1:-0} / ${e2:-0} |"$'\n'
done
text="Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; $USERS roster users, 200 videos; wrk -t$THREADS -c$CONNS -d$DURATION;
$RSTREAM_WORKERS FastCGI workers per app host (build: ${RSTREAM_BIN#"$ROOT"/}). Load average before: $load.
Two hosts = app hosts A and B in one nginx upstream, reads of RF_REPLICA routes on the streaming replica
($replica_reads statements answered by the replica on host A alone); one host = B killed, replica stopped.

| target | 1 app host, primary only | 2 app hosts + replica | ratio 2 / 1 | non-2xx (1 / 2) |
|---|---:|---:|---:|---:|
$rows
On one 2-core machine both configurations share the same cores: what the ratio can show is that a second host and
the replica add no lock or hot row (a ratio well below 1 would). Two hosts also means twice the FastCGI workers, which
wins a bigger share of a machine that other processes load; the gain of real hosts is their own cores (see
docs/architecture.md \"Sizing\")."
echo "$text"
bench_write_section scale "Scale-out: 1 vs 2 app hosts + replica (bench/scale/run.sh)" "$text"
