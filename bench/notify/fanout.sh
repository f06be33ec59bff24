#!/usr/bin/env bash
# Notification fan-out benchmark (bash bench/notify/fanout.sh; part of make bench): 100,000 subscribers of one
# category (one in ten with an e-mail address), one public video in it becomes ready. The event costs the request
# side one INSERT INTO jobs (timed with `rstream enqueue`); the worker's notify_fanout job inserts every
# notification and e-mail outbox row in one statement. Meanwhile wrk asks for a page with the header's bell, to
# show requests are not held up. Prints a table and regenerates the "notify" section of docs/benchmarks.md.
# Env: BENCH_SUBSCRIBERS (100000), BENCH_NO_DOCS=1, BENCH_STACK_DIR / BENCH_HTTP_PORT / BENCH_PG_PORT / BENCH_REDIS_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export STACK_DIR=${BENCH_STACK_DIR:-$ROOT/var/bench}
export HTTP_PORT=${BENCH_HTTP_PORT:-19080}
export PG_PORT=${BENCH_PG_PORT:-19433}
export REDIS_PORT=${BENCH_REDIS_PORT:-19380}
export RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
N=${BENCH_SUBSCRIBERS:-100000}
BASE="http://127.0.0.1:$HTTP_PORT"
DOC=$ROOT/docs/benchmarks.md

command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/deps.sh)" >&2; exit 1; }
[ -x "$RSTREAM_BIN" ] || { echo "bench: $RSTREAM_BIN is missing (make)" >&2; exit 1; }
stack() { bash "$ROOT/scripts/stack.sh" "$@"; }
trap 'stack stop >/dev/null 2>&1 || true' EXIT
stack stop >/dev/null 2>&1 || true
stack start
eval "$(stack env)"
psql() { command psql -qtAX "$DATABASE_URL" "$@"; }

tag=$(openssl rand -hex 4)
# subscribers, a category they follow, a creator and a ready public video in that category
psql <<SQL >/dev/null
INSERT INTO users (email, name, role)
  SELECT CASE WHEN g % 10 = 0 THEN 'sub' || g || '-$tag@bench-notify.example' END, 'Sub ' || g, 'viewer'
  FROM generate_series(1, $N) g;
INSERT INTO categories (slug, name_ja, name_en) VALUES ('bench-$tag', 'ベンチ', 'Bench');
INSERT INTO users (email, name, role) VALUES ('creator-$tag@bench-notify.example', 'Bench creator', 'creator');
INSERT INTO notify_subscriptions (user_id, target_kind, target_id)
  SELECT u.id, 'category', (SELECT id FROM categories WHERE slug = 'bench-$tag') FROM users u WHERE u.name LIKE 'Sub %'
  AND u.role = 'viewer' AND (u.email IS NULL OR u.email LIKE '%-$tag@bench-notify.example')
  AND u.id > (SELECT max(id) - $N - 2 FROM users);
-- the ones with an address asked for e-mail about new videos (off by default)
INSERT INTO notify_prefs (user_id, kind, channel, enabled)
  SELECT user_id, 'video_new', 'email', true FROM notify_subscriptions s JOIN users u ON u.id = s.user_id
  WHERE s.target_id = (SELECT id FROM categories WHERE slug = 'bench-$tag') AND u.email IS NOT NULL;
INSERT INTO videos (public_id, title, status, visibility, owner_id)
  VALUES (substr(md5('$tag'), 1, 16), 'ベンチ動画', 'ready', 'public', (SELECT id FROM users WHERE email = 'creator-$tag@bench-notify.example'));
INSERT INTO video_categories (video_id, category_id)
  SELECT v.id, c.id FROM videos v, categories c WHERE v.public_id = substr(md5('$tag'), 1, 16) AND c.slug = 'bench-$tag';
SQL
psql -c "ANALYZE users" -c "ANALYZE notify_subscriptions" -c "ANALYZE notify_prefs" >/dev/null
subs=$(psql -c "SELECT count(*) FROM notify_subscriptions s JOIN categories c ON c.id = s.target_id WHERE c.slug = 'bench-$tag'")
vpk=$(psql -c "SELECT id FROM videos WHERE public_id = substr(md5('$tag'), 1, 16)")
# a signed-in viewer with 150 unread notices, for the page with the bell
pw="Bench-$(openssl rand -hex 12)"
"$RSTREAM_BIN" user add --email "reader-$tag@bench-notify.example" --name Reader --role viewer --password "$pw" >/dev/null
ruid=$(psql -c "SELECT id FROM users WHERE email = 'reader-$tag@bench-notify.example'")
psql -c "INSERT INTO notifications (user_id, event_key, kind, payload) SELECT $ruid, 'bench:' || g, 'video_new', '{\"title\":\"x\"}' FROM generate_series(1, 150) g" >/dev/null
tok=$(curl -s -H 'Content-Type: application/json' -d "{\"email\":\"reader-$tag@bench-notify.example\",\"password\":\"$pw\"}" "$BASE/api/v1/auth/login" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
bell_plan=$(psql -c "EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM (SELECT 1 FROM notifications WHERE user_id = $ruid AND inapp AND read_at IS NULL LIMIT 100) x" |
	python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)[0]["Execution Time"])')

# the request side: enqueueing the event is the INSERT that job_enqueue does (timed inside PostgreSQL)
payload="{\"kind\":\"video_new\",\"event\":\"video:$vpk:bench\",\"audience\":\"video_subscribers\",\"audience_id\":$vpk,\"data\":{\"title\":\"ベンチ動画\"}}"
enq_ms=$(psql -c "EXPLAIN (ANALYZE, FORMAT JSON) INSERT INTO jobs (kind, payload, max_attempts) VALUES ('notify_fanout', '$payload', 5)" |
	python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)[0]["Execution Time"])')
job=$(psql -c "SELECT max(id) FROM jobs WHERE kind = 'notify_fanout'")
psql -c "SELECT pg_notify('rstream_jobs', 'notify_fanout')" >/dev/null
# pages with the bell keep answering while the worker fans out
cat >"$STACK_DIR/bench-notify.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $tok"
wrk.headers["Accept"] = "text/html"
LUA
wrk -t2 -c16 -d8s --latency -s "$STACK_DIR/bench-notify.lua" "$BASE/notifications" >"$STACK_DIR/bench-notify-wrk.txt" &
wrk_pid=$!
for _ in $(seq 1 600); do
	st=$(psql -c "SELECT state FROM jobs WHERE id = $job")
	[ "$st" = done ] || [ "$st" = failed ] && break
	sleep 0.2
done
wait "$wrk_pid" || true
[ "$st" = done ] || { echo "bench: the fan-out job ended $st" >&2; exit 1; }
fan_s=$(psql -c "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 2) FROM jobs WHERE id = $job")
inserted=$(psql -c "SELECT count(*) FROM notifications WHERE event_key = 'video:$vpk:bench'")
mails=$(psql -c "SELECT count(*) FROM mail_outbox o JOIN notifications n ON n.id = o.notification_id WHERE n.event_key = 'video:$vpk:bench'")
rps=$(awk '/Requests\/sec/ {print $2}' "$STACK_DIR/bench-notify-wrk.txt")
p99=$(awk '/ 99% / {print $2}' "$STACK_DIR/bench-notify-wrk.txt")
errs=$(awk '/Non-2xx/ {print $5}' "$STACK_DIR/bench-notify-wrk.txt")
per_s=$(python3 -c "print(int($inserted / max(float('$fan_s'), 0.001)))")

table=$(cat <<TABLE
| measure | value |
|---|---|
| subscribers of the category | $subs |
| enqueue the event (the request's one INSERT INTO jobs, execution time) | $enq_ms ms |
| fan-out job (one INSERT … SELECT: notifications + e-mail outbox) | $fan_s s |
| notifications inserted / e-mails queued | $inserted / $mails |
| rows per second | $per_s |
| \`/notifications\` with the bell during the fan-out (wrk 16 conns, 8 s) | $rps req/s, p99 $p99, non-2xx ${errs:-0} |
| bell count query (150 unread, capped at 100) | $bell_plan ms |
TABLE
)
echo "$table"
if [ "${BENCH_NO_DOCS:-}" != 1 ]; then
	python3 - "$DOC" "$table" "$(nproc)" <<'PY'
import sys, re, datetime
doc, table, cores = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(doc).read()
block = "<!-- bench:notify:begin -->\n_%s, %s cores._\n\n%s\n<!-- bench:notify:end -->" % (
    datetime.date.today().isoformat(), cores, table)
if "<!-- bench:notify:begin -->" in s:
    s = re.sub(r"<!-- bench:notify:begin -->.*?<!-- bench:notify:end -->", lambda m: block, s, flags=re.S)
else:
    s += "\n## Notification fan-out (bench/notify/fanout.sh)\n\nOne event for 100,000 subscribers: the request side enqueues one job; the worker inserts every row in one statement while pages keep answering.\n\n" + block + "\n"
open(doc, "w").write(s)
PY
fi
