#!/usr/bin/env bash
# Statistics benchmark (bash bench/insight/run.sh; part of make bench): loads BENCH_ROWS (10 million) playback
# sessions for 5,000 videos and 100,000 viewers with set-based SQL (bench/insight/load.sql: the indexes and keys of
# the viewing tables dropped and re-created from their own definitions), builds the rollups with stats_rebuild()
# (sql/098_stats_rebuild.sql), checks a sample of videos against the worker's stats_refresh() (verify.sql), then
# times the video stats and KPI pages and APIs with wrk beside the hello-world ceiling, with the server CPU each
# request costs. Target: ≥ 25 % of the ceiling. Prints a table and regenerates the "insight" section of
# docs/benchmarks.md.
# Env: BENCH_ROWS (10000000), BENCH_DURATION (10s), BENCH_CONNS (64), BENCH_THREADS (2), BENCH_NO_DOCS=1,
#      BENCH_KEEP_DATA=1 (reuse the rows and rollups a previous run built), BENCH_STACK_DIR / BENCH_*_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
. bench/lib.sh
ROWS=${BENCH_ROWS:-10000000}
VIDEOS=5000
USERS=100000
TZ_NAME=Asia/Tokyo
WORK=$STACK_DIR/bench-insight

bench_stack_up "$WORK"
# The job worker is stopped for the whole run: the load queues its 2.5 million (viewer, video) pairs for the
# recommender at once (in real use they arrive one by one and are counted as they come), and counting that backlog
# would take the cores the pages are timed on. The stats pages do not need it: the rollups are built here.
bench_stop_worker
psql() { command psql -qtAX "$DATABASE_URL" "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }

have=$(psql -c "SELECT count(*) FROM view_sessions")
built=$(psql -c "SELECT count(*) FROM stats_video_totals")
if [ "${BENCH_KEEP_DATA:-0}" != 1 ] || [ "$have" -lt "$ROWS" ] || [ "$built" = 0 ]; then
	echo "bench: loading $USERS viewers, $VIDEOS videos, $ROWS playback sessions"
	t0=$(date +%s.%N)
	psql -v rows="$ROWS" -v users=$USERS -v videos=$VIDEOS -v tz=$TZ_NAME \
		-v share="$(awk -F= '/^learn_complete_share/ {gsub(/ /, "", $2); print $2}' conf/rstream.conf | grep . || echo 0.9)" \
		-f bench/insight/load.sql >/dev/null
	t1=$(date +%s.%N)
	echo "bench: building the rollups (stats_rebuild)"
	psql -c "SELECT stats_rebuild(NULL, '$TZ_NAME')" >/dev/null
	t2=$(date +%s.%N)
	load_s="$(secs "$t0" "$t1") s" roll_s="$(secs "$t1" "$t2") s"
else
	load_s="(an earlier run: kept)" roll_s="(an earlier run: kept)"
fi
psql -c "SELECT stats_kpi_refresh('$TZ_NAME')" >/dev/null
echo "bench: checking the rollups of a sample against stats_refresh"
read -r v_videos v_rows v_diff < <(psql -v sample=50 -v tz=$TZ_NAME -f bench/insight/verify.sql)
[ "$v_diff" = 0 ] || { echo "bench: stats_rebuild and stats_refresh differ on $v_diff of $v_rows rows" >&2; exit 1; }
sessions=$(psql -c "SELECT count(*) FROM view_sessions")
progress=$(psql -c "SELECT count(*) FROM view_progress")
daily=$(psql -c "SELECT count(*) FROM stats_video_daily")
db_size=$(psql -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
# the most watched video: the heaviest stats page
vid=$(psql -c "SELECT v.public_id FROM stats_video_totals t JOIN videos v ON v.id = t.video_id ORDER BY t.viewers DESC, v.id LIMIT 1")

pw="Bench-$(openssl rand -hex 12)"
if "$RSTREAM_BIN" user passwd --email admin@bench-insight.example --password "$pw" >/dev/null 2>&1; then :; else
	"$RSTREAM_BIN" user add --email admin@bench-insight.example --name Bench --role admin --password "$pw" >/dev/null
fi
token=$(curl -s -H 'Content-Type: application/json' -d "{\"email\":\"admin@bench-insight.example\",\"password\":\"$pw\"}" \
	"$BASE/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
AUTH="Authorization: Bearer $token"
for p in "/api/v1/videos/$vid/stats" "/stats/videos/$vid" "/api/v1/stats/kpis" "/admin/stats"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$BASE$p")
	[ "$code" = 200 ] || { echo "bench: $p answered $code" >&2; exit 1; }
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
srv_cpu() { echo "$(tree_cpu "$(cat "$STACK_DIR/run/nginx.pid")" "$(cat "$STACK_DIR/run/fcgi.pid")" "$(pgpid)")"; }
wrk -t"$THREADS" -c"$CONNS" -d2s "$BASE/__bench/hello" >/dev/null 2>&1 || true
h0=$(tree_cpu "$(cat "$STACK_DIR/run/nginx.pid")" "$hello_pid")
hout=$(bench_wrk /__bench/hello)
h1=$(tree_cpu "$(cat "$STACK_DIR/run/nginx.pid")" "$hello_pid")
hello=$(bench_rps "$hout")
u_hello=$(awk -v a="$h0" -v b="$h1" -v n="$(awk '/requests in/ {print $1}' <<<"$hout")" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')
rows=""
for t in "GET /api/v1/videos/:id/stats (30 days, JSON)|/api/v1/videos/$vid/stats" \
	 "GET /stats/videos/:id (page, two SVG charts)|/stats/videos/$vid" \
	 "GET /api/v1/stats/kpis (30 days, JSON)|/api/v1/stats/kpis" \
	 "GET /admin/stats (page, two SVG charts)|/admin/stats"; do
	name=${t%%|*} path=${t#*|}
	bench_wrk "$path" "$AUTH" >/dev/null   # warm
	c0=$(srv_cpu)
	out=$(bench_wrk "$path" "$AUTH")
	c1=$(srv_cpu)
	rps=$(bench_rps "$out")
	pct=$(awk -v a="$rps" -v b="$hello" 'BEGIN { printf "%.0f", 100 * a / b }')
	verdict=$([ "$pct" -ge 25 ] && echo "meets ≥ 25 %" || echo "**below 25 %**")
	u=$(awk -v a="$c0" -v b="$c1" -v n="$(awk '/requests in/ {print $1}' <<<"$out")" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')
	rows+="| $name | $rps req/s | $pct % ($verdict) | $(bench_p99 "$out") | $(bench_non2xx "$out") | $u µs ($(awk -v a="$u" -v b="$u_hello" 'BEGIN { printf "%.1f", a / b }') ×) |
"
done
cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
section="Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t$THREADS -c$CONNS -d$DURATION
on loopback; rstream fcgi with $WORKERS workers (build: $(basename "$(dirname "$RSTREAM_BIN")")), job worker stopped. Load average
before the timings: $LOAD_BEFORE (2 cores: above 2 means other processes shared them).
Data: $sessions playback sessions (view_sessions), $progress (viewer, video) progress rows, $VIDEOS videos, $USERS viewers,
spread over 90 days (database $db_size); loaded with SQL in $load_s (bench/insight/load.sql). Rollups built by
stats_rebuild() in $roll_s ($daily per-day rows); the $v_rows rollup rows of $v_videos sample videos recomputed by the worker's
stats_refresh() from dirty marks: $v_diff differ. The pages read the rollups, never view_sessions. Video: the most watched one.
Server CPU = nginx + FastCGI + PostgreSQL per request (hello-world: nginx + the bare FastCGI program).

| what | rate | of the hello-world ceiling | p99 | non-2xx | server CPU per request (× hello-world) |
|---|---:|---:|---:|---:|---:|
| hello-world FastCGI ceiling | $hello req/s | 100 % | $(bench_p99 "$hout") | | $u_hello µs (1 ×) |
${rows%$'\n'}"
echo
echo "$section"
bench_write_section insight "Statistics pages over 10 million views (bench/insight/run.sh)" "$section"
