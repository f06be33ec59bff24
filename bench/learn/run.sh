#!/usr/bin/env bash
# Heartbeat benchmark (bash bench/learn/run.sh; part of make bench): wrk posts viewing heartbeats with real bodies
# and valid signed playback sessions through nginx → FastCGI → Redis stream, beside the bare libfcgi hello-world
# ceiling; the worker flushes into PostgreSQL meanwhile; then the run waits for the stream to drain and checks that
# PostgreSQL holds every accepted beat exactly once. A second pass with the worker stopped measures the flush rate
# alone. Prints a table and regenerates the "learn" section of docs/benchmarks.md.
# Env: BENCH_DURATION (10s), BENCH_CONNS (64), BENCH_THREADS (2), BENCH_USERS (100), BENCH_NO_DOCS=1,
#      BENCH_STACK_DIR / BENCH_HTTP_PORT / BENCH_PG_PORT / BENCH_REDIS_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
USERS=${BENCH_USERS:-100}
# the stack, the hello-world ceiling beside it, wrk settings and the docs writer (bench/lib.sh)
source "$ROOT/bench/lib.sh"
WORK=$STACK_DIR/bench-learn
bench_stack_up "$WORK"
psql() { command psql -qtAX "$DATABASE_URL" "$@"; }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# viewers, one long public video, a bearer token per viewer
pw="Bench-$(openssl rand -hex 12)"
vid=$(printf 'be%014x' "$RANDOM$RANDOM")
psql -c "INSERT INTO videos (public_id, title, status, visibility, duration) VALUES ('$vid', 'bench', 'ready', 'public', 3600)" >/dev/null
vpk=$(psql -c "SELECT id FROM videos WHERE public_id = '$vid'")
: >"$WORK/users.txt"
for i in $(seq 1 "$USERS"); do
	email="viewer$i@bench-learn.example"
	if "$RSTREAM_BIN" user passwd --email "$email" --password "$pw" >/dev/null 2>&1; then :; else
		"$RSTREAM_BIN" user add --email "$email" --name "Viewer $i" --role viewer --password "$pw" >/dev/null
	fi
	tok=$(curl -s -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"$pw\"}" "$BASE/api/v1/auth/login" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	uid=$(psql -c "SELECT id FROM users WHERE email = '$email'")
	echo "$tok $uid" >>"$WORK/users.txt"
done
cut -d' ' -f1 "$WORK/users.txt" >"$WORK/tokens.txt"
# a valid session from the real API first: the format below must be what the app issues
sample=$(curl -s -H "Authorization: Bearer $(head -n 1 "$WORK/users.txt" | cut -d' ' -f1)" "$BASE/api/v1/videos/$vid/playback" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["playback"]["session"])')

# make_sessions N FILE: N signed playback sessions (fcgi/learn_token.c's format), round robin over the viewers
make_sessions() {
	python3 - "$1" "$2" "$WORK/users.txt" "$vpk" "$vid" "$sample" <<'PY'
import hmac, hashlib, os, sys, time
n, out, users, vpk, vid, sample = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
key = os.environ["RSTREAM_SECRET"].encode()
def sign(payload): return hmac.new(key, b"pb1:" + payload.encode(), hashlib.sha256).hexdigest()[:32]
p = sample.rsplit(".", 1)
assert sign(p[0]) == p[1], "the session format differs from fcgi/learn_token.c"
us = [l.split() for l in open(users)]
iat = int(time.time())
with open(out, "w") as f:
    for i in range(n):
        uid = us[i % len(us)][1]
        payload = f"{uid}.{vpk}.{vid}.3600000.{iat}.{os.urandom(8).hex()}"
        f.write(f"{i % len(us)} {payload}.{sign(payload)} {vid}\n")
PY
}

# how many beats wrk can send in the run, with room to spare (run.sh then needs no second file)
secs=${DURATION%s}
make_sessions $((secs * 25000 + 20000)) "$WORK/sessions.txt"
make_sessions 4000 "$WORK/warm.txt"

pending() { rcli XPENDING learn:beats learn 2>/dev/null | head -n 1; }
backlog() { echo $(( $(rcli XLEN learn:beats) )); }
wait_drained() {   # seconds it took until the stream is empty and nothing is pending
	local t0 t1
	t0=$(date +%s.%N)
	for _ in $(seq 1 1200); do
		[ "$(backlog)" = 0 ] && [ "$(pending)" = 0 ] && break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

wrk_run() {   # wrk_run LUA_FILE_ARGS...: prints wrk's output
	wrk -t"$THREADS" -c"$CONNS" -d"$1" --latency --timeout 5s -s bench/learn/heartbeat.lua "$BASE/api/v1/views/heartbeat" -- "$THREADS" "$2" "$WORK/tokens.txt" 2>&1 || true
}

cpu_snapshot() {   # nginx fcgi redis worker postgres
	echo "$(tree_cpu "$(cat "$STACK_DIR/run/nginx.pid")") $(tree_cpu "$(cat "$STACK_DIR/run/fcgi.pid")") \
$(tree_cpu "$(cat "$STACK_DIR/run/redis.pid")") $(tree_cpu "$(cat "$STACK_DIR/run/worker.pid")") $(tree_cpu "$(pgpid)")"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
wrk -t"$THREADS" -c"$CONNS" -d2s "$BASE/__bench/hello" >/dev/null 2>&1 || true
h0=$(tree_cpu "$(cat "$STACK_DIR/run/nginx.pid")" "$hello_pid")
hout=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$BASE/__bench/hello" 2>&1)
h1=$(tree_cpu "$(cat "$STACK_DIR/run/nginx.pid")" "$hello_pid")
hello=$(awk '/^Requests\/sec:/ {print $2}' <<<"$hout")
hreq=$(awk '/requests in/ {print $1}' <<<"$hout")
u_hello=$(awk -v a="$h0" -v b="$h1" -v n="$hreq" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')
healthz=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$BASE/healthz" 2>&1 | awk '/^Requests\/sec:/ {print $2}')
wrk_run 2s "$WORK/warm.txt" >/dev/null
wait_drained >/dev/null
psql -c "TRUNCATE view_sessions, view_progress, watch_positions" >/dev/null

# pass 1: the worker flushes while wrk sends
read -r c_ng0 c_fc0 c_rd0 c_wk0 c_pg0 < <(cpu_snapshot)
out=$(wrk_run "$DURATION" "$WORK/sessions.txt")
rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
read -r gen acc rej < <(sed -n 's/^BEATS generated=\([0-9]*\) accepted=\([0-9]*\) rejected=\([0-9]*\)/\1 \2 \3/p' <<<"$out")
sockerr=$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); print}' <<<"$out")
lag=$(backlog)
drain=$(wait_drained)
read -r c_ng1 c_fc1 c_rd1 c_wk1 c_pg1 < <(cpu_snapshot)
read -r rows total bad < <(psql -F' ' -c "SELECT count(*), COALESCE(sum(watched_ms), 0), count(*) FILTER (WHERE watched_ms <> 11000) FROM view_sessions")
check="ok"
[ "$rows" -ge "$acc" ] && [ "$rows" -le "$gen" ] && [ "$bad" = 0 ] && [ "$total" = $((rows * 11000)) ] || check="FAILED"

# pass 2: the worker stopped while wrk fills the stream; then it alone drains it (the flush rate)
bench_stop_worker
psql -c "TRUNCATE view_sessions, view_progress, watch_positions" >/dev/null
make_sessions $((secs * 25000 + 20000)) "$WORK/sessions2.txt"
out2=$(wrk_run "$DURATION" "$WORK/sessions2.txt")
rps2=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out2")
read -r gen2 acc2 rej2 < <(sed -n 's/^BEATS generated=\([0-9]*\) accepted=\([0-9]*\) rejected=\([0-9]*\)/\1 \2 \3/p' <<<"$out2")
queued=$(backlog)
# the worker again, started the way scripts/stack.sh starts it; the clock runs from its start to an empty stream
setsid "$RSTREAM_BIN" worker </dev/null >>"$STACK_DIR/log/worker.log" 2>&1 &
echo $! >"$STACK_DIR/run/worker.pid"
t0=$(date +%s.%N)
drain2=$(wait_drained)
t1=$(date +%s.%N)
read -r rows2 total2 bad2 < <(psql -F' ' -c "SELECT count(*), COALESCE(sum(watched_ms), 0), count(*) FILTER (WHERE watched_ms <> 11000) FROM view_sessions")
flush_rate=$(awk -v n="$rows2" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
check2="ok"
[ "$rows2" -ge "$acc2" ] && [ "$rows2" -le "$gen2" ] && [ "$bad2" = 0 ] && [ "$total2" = $((rows2 * 11000)) ] || check2="FAILED"

pct=$(awk -v a="$rps" -v b="$hello" 'BEGIN { printf "%.0f %%", 100 * a / b }')
# CPU microseconds per beat, by part, over pass 1 (send + drain); wrk's own CPU is not the server's
per() { awk -v a="$1" -v b="$2" -v n="$rows" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }'; }
u_ng=$(per "$c_ng0" "$c_ng1"); u_fc=$(per "$c_fc0" "$c_fc1"); u_rd=$(per "$c_rd0" "$c_rd1")
u_wk=$(per "$c_wk0" "$c_wk1"); u_pg=$(per "$c_pg0" "$c_pg1")
u_all=$((u_ng + u_fc + u_rd + u_wk + u_pg))
capacity=$(awk -v u="$u_all" -v c="$(nproc)" 'BEGIN { printf "%.0f", c * 1e6 / u }')
# (the parentheses matter: a bare "b > 0" after printf is awk's output redirection to a file named 0)
cost_ratio=$(awk -v a="$u_all" -v b="$u_hello" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
section="Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB; wrk -t$THREADS -c$CONNS -d$DURATION
on loopback; rstream fcgi with $WORKERS workers and one \`rstream worker\` (build: $(basename "$(dirname "$RSTREAM_BIN")")); $USERS viewers.
wrk, nginx, the FastCGI workers, Redis, PostgreSQL and the flusher all share the same $(nproc) cores.
Load average before the run: $LOAD_BEFORE (the machine is shared: other processes skew single runs).

| what | result |
|---|---:|
| hello-world FastCGI ceiling (GET, same wrk settings) | $(printf '%.0f' "$hello") req/s |
| GET /healthz (the app's request path with no I/O) | $(printf '%.0f' "$healthz") req/s |
| heartbeats accepted, worker flushing meanwhile (pass 1) | $(printf '%.0f' "$rps") /s ($pct of hello-world), p99 $p99 |
| beats sent / accepted (202) / rejected; socket errors | $gen / $acc / $rej; ${sockerr:-none} |
| stream backlog when wrk stopped; drained after | $lag beats; ${drain} s |
| PostgreSQL after the drain: sessions, all 11 s each, sum | $rows, $([ "$bad" = 0 ] && echo yes || echo "no: $bad differ"), $total ms — **$check** (accepted ≤ rows ≤ sent) |
| server CPU per beat (pass 1): nginx / FastCGI / Redis / flusher / PostgreSQL | $u_ng / $u_fc / $u_rd / $u_wk / $u_pg µs = $u_all µs |
| server CPU per hello-world request (nginx + hello_fcgi), same conditions | $u_hello µs; a beat costs $cost_ratio × that |
| beats/s the server side would carry on $(nproc) dedicated cores at the measured cost (wrk elsewhere) | $capacity /s |
| heartbeats accepted with the worker stopped (pass 2) | $(printf '%.0f' "$rps2") /s; $queued beats queued in Redis |
| flush rate of one worker draining that backlog alone | $flush_rate beats/s ($rows2 beats in ${drain2} s) — **$check2** |

\"accepted ≤ rows ≤ sent\": a beat answered 202 is in PostgreSQL exactly once; rows above the accepted count are beats
that were in flight when wrk stopped (their answers were never read, at most one per connection)."

echo
echo "$section"
bench_write_section learn "Viewing heartbeats (bench/learn/run.sh)" "$section"
[ "$check" = ok ] && [ "$check2" = ok ]
