#!/usr/bin/env bash
# Statistics benchmark (bash bench/insight/run.sh; part of make bench): loads BENCH_ROWS (10 million) playback
# sessions for 5,000 videos and 100,000 viewers with SQL (generate_series, no client round trips), builds the
# rollups the way the worker does (every (video, day) marked dirty, stats_refresh until none is left), then times
# the video stats and KPI pages and APIs with wrk beside the hello-world ceiling. Target: ≥ 25 % of the ceiling.
# Prints a table and regenerates the "insight" section of docs/benchmarks.md.
# Env: BENCH_ROWS (10000000), BENCH_DURATION (10s), BENCH_CONNS (64), BENCH_THREADS (2), BENCH_NO_DOCS=1,
#      BENCH_KEEP_DATA=1 (reuse the rows a previous run loaded), BENCH_STACK_DIR / BENCH_*_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
. bench/lib.sh
ROWS=${BENCH_ROWS:-10000000}
VIDEOS=5000
USERS=100000
WORK=$STACK_DIR/bench-insight

bench_stack_up "$WORK"
psql() { command psql -qtAX "$DATABASE_URL" "$@"; }

have=$(psql -c "SELECT count(*) FROM users WHERE email LIKE '%@bench-insight.example'")
t_load0=$(date +%s.%N)
if [ "${BENCH_KEEP_DATA:-0}" != 1 ] || [ "$have" -lt "$USERS" ]; then
	echo "bench: loading $USERS viewers, $VIDEOS videos, $ROWS playback sessions"
	psql -v ON_ERROR_STOP=1 <<SQL
SET synchronous_commit = off;
DELETE FROM videos WHERE title LIKE 'insight-%';
DELETE FROM users WHERE email LIKE '%@bench-insight.example';
TRUNCATE stats_dirty, stats_video_daily, stats_video_totals, stats_video_retention, stats_user_last, stats_kpi_daily;
INSERT INTO users (email, name, role)
	SELECT 'v' || i || '@bench-insight.example', '視聴者 ' || i, 'viewer' FROM generate_series(1, $USERS) i;
INSERT INTO videos (public_id, title, status, visibility, duration, source_size, created_at)
	SELECT lpad(to_hex(1000000 + i), 16, 'b'), 'insight-' || i, 'ready', 'public', 120 + i % 1200, 50000000,
	       now() - (i % 90) * interval '1 day' FROM generate_series(1, $VIDEOS) i;
CREATE TEMP TABLE u AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM users WHERE email LIKE '%@bench-insight.example';
CREATE TEMP TABLE v AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, (duration * 1000)::bigint AS dur FROM videos WHERE title LIKE 'insight-%';
CREATE INDEX ON u (k); CREATE INDEX ON v (k);
ANALYZE u; ANALYZE v;
-- four sessions per (viewer, video) pair on average: pair p = i / 4; sessions spread over the last 90 days
INSERT INTO view_sessions (id, user_id, video_id, watched, watched_ms, position_ms, rate, started_at, last_at)
	SELECT md5('insight' || i), u.id, v.id,
	       int8multirange(int8range(0, (v.dur * (1 + i % 10) / 10))), v.dur * (1 + i % 10) / 10, v.dur * (1 + i % 10) / 10, 1,
	       now() - ((i * 7919) % (90 * 86400)) * interval '1 second', now() - ((i * 7919) % (90 * 86400)) * interval '1 second' + interval '10 minutes'
	FROM generate_series(0::bigint, $ROWS - 1) i
	JOIN u ON u.k = (i / 4) % $USERS
	JOIN v ON v.k = ((i / 4) / $USERS * 37 + (i / 4) % $USERS) % $VIDEOS;
INSERT INTO view_progress (user_id, video_id, watched, watched_ms, duration_ms, position_ms, completed_at, first_at, last_at)
	SELECT user_id, video_id, range_agg(r), learn_mr_ms(range_agg(r)), min(v.dur), 0,
	       CASE WHEN learn_mr_ms(range_agg(r)) >= 0.9 * min(v.dur) THEN max(last_at) END, min(started_at), max(last_at)
	FROM view_sessions s JOIN v ON v.id = s.video_id, unnest(s.watched) r
	GROUP BY user_id, video_id
	ON CONFLICT DO NOTHING;
INSERT INTO stats_user_last (user_id, last_day)
	SELECT user_id, max((last_at AT TIME ZONE 'Asia/Tokyo')::date) FROM view_progress GROUP BY user_id
	ON CONFLICT (user_id) DO UPDATE SET last_day = EXCLUDED.last_day;
-- every (video, day) dirty, as the flush would have marked them
INSERT INTO stats_dirty (video_id, day)
	SELECT DISTINCT video_id, (started_at AT TIME ZONE 'Asia/Tokyo')::date FROM view_sessions ON CONFLICT DO NOTHING;
ANALYZE users; ANALYZE videos; ANALYZE view_sessions; ANALYZE view_progress; ANALYZE stats_dirty; ANALYZE stats_user_last;
SQL
fi
t_load1=$(date +%s.%N)
# the rollups, in the worker's batches (the stack's worker refreshes too; the advisory lock keeps one at a time)
dirty0=$(psql -c "SELECT count(*) FROM stats_dirty")
t_roll0=$(date +%s.%N)
while [ "$(psql -c "SELECT count(*) FROM stats_dirty")" != 0 ]; do
	psql -c "SELECT stats_refresh(5000, 'Asia/Tokyo')" >/dev/null
done
psql -c "SELECT stats_kpi_refresh('Asia/Tokyo')" >/dev/null
t_roll1=$(date +%s.%N)
sessions=$(psql -c "SELECT count(*) FROM view_sessions")
progress=$(psql -c "SELECT count(*) FROM view_progress")
daily=$(psql -c "SELECT count(*) FROM stats_video_daily")
# the most watched video: the heaviest stats page
vid=$(psql -c "SELECT v.public_id FROM stats_video_totals t JOIN videos v ON v.id = t.video_id ORDER BY t.viewers DESC LIMIT 1")

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
wrk -t"$THREADS" -c"$CONNS" -d2s "$BASE/__bench/hello" >/dev/null 2>&1 || true
hello=$(bench_rps "$(bench_wrk /__bench/hello)")
rows=""
for t in "GET /api/v1/videos/:id/stats (30 days, JSON)|/api/v1/videos/$vid/stats" \
	 "GET /stats/videos/:id (page, two SVG charts)|/stats/videos/$vid" \
	 "GET /api/v1/stats/kpis (30 days, JSON)|/api/v1/stats/kpis" \
	 "GET /admin/stats (page, two SVG charts)|/admin/stats"; do
	name=${t%%|*} path=${t#*|}
	bench_wrk "$path" "$AUTH" >/dev/null   # warm
	out=$(bench_wrk "$path" "$AUTH")
	rps=$(bench_rps "$out")
	pct=$(awk -v a="$rps" -v b="$hello" 'BEGIN { printf "%.0f", 100 * a / b }')
	verdict=$([ "$pct" -ge 25 ] && echo "meets ≥ 25 %" || echo "**below 25 %**")
	rows+="| $name | $rps req/s | $pct % ($verdict) | $(bench_p99 "$out") | $(bench_non2xx "$out") |
"
done
cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
section="Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t$THREADS -c$CONNS -d$DURATION
on loopback; rstream fcgi with $WORKERS workers (build: $(basename "$(dirname "$RSTREAM_BIN")")). Load average before the run:
$LOAD_BEFORE — the machine was shared with other builds and tests, so single runs vary.
Data: $sessions playback sessions (view_sessions), $progress (viewer, video) progress rows, $VIDEOS videos, $USERS viewers,
spread over 90 days; loaded with SQL in $(awk -v a="$t_load0" -v b="$t_load1" 'BEGIN { printf "%.0f", b - a }') s.
Rollups built from $dirty0 dirty (video, day) marks by stats_refresh in $(awk -v a="$t_roll0" -v b="$t_roll1" 'BEGIN { printf "%.0f", b - a }') s
($daily per-day rows); the pages read those, never view_sessions. Video: the most watched one.

| what | rate | of the hello-world ceiling | p99 | non-2xx |
|---|---:|---:|---:|---:|
| hello-world FastCGI ceiling | $hello req/s | 100 % | | |
${rows%$'\n'}"
echo
echo "$section"
bench_write_section insight "Statistics pages over 10 million views (bench/insight/run.sh)" "$section"
