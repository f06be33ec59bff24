#!/usr/bin/env bash
# Video benchmark (bash bench/video/run.sh): in one run,
#  1. transcode of a 1080p clip: the R-Stream pipeline beside the same bare one-pass ffmpeg command and beside one
#     ffmpeg process per rung (bench/video/transcode.c; SPEC §4: pipeline ≤ 1.05 × bare, per-rung ≥ 1.25 × pipeline);
#  2. HLS segment delivery under wrk: signed URLs (nginx secure_link) beside the same file as plain nginx static
#     (SPEC §4: ≥ 90 %). Loopback only, bounded runs, private stack under var/bench-video.
# Prints a table and regenerates the "video" section of docs/benchmarks.md.
# Env: BENCH_VIDEO_SECONDS (20), BENCH_VIDEO_PRESET (veryfast), BENCH_VIDEO_ROUNDS (3), BENCH_DURATION (10s),
#      BENCH_DELIVERY_ROUNDS (3), BENCH_CONNS ("64 256"), BENCH_THREADS (2), BENCH_VIDEO_SKIP_TRANSCODE=1 (reuse the
#      last transcode results), BENCH_NO_DOCS=1 to leave the docs alone.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
export STACK_DIR=${BENCH_STACK_DIR:-$ROOT/var/bench-video}
export HTTP_PORT=${BENCH_HTTP_PORT:-19180}
export PG_PORT=${BENCH_PG_PORT:-19533}
export REDIS_PORT=${BENCH_REDIS_PORT:-19480}
export RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/$BUILD/rstream}
SECONDS_CLIP=${BENCH_VIDEO_SECONDS:-20}
PRESET=${BENCH_VIDEO_PRESET:-veryfast}
ROUNDS=${BENCH_VIDEO_ROUNDS:-3}
SEG=6
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNS:-64 256}
THREADS=${BENCH_THREADS:-2}
DOC=$ROOT/docs/benchmarks.md
WORK=$STACK_DIR/bench
BASE="http://127.0.0.1:$HTTP_PORT"

command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/deps.sh)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "bench: ffmpeg is missing" >&2; exit 1; }
make -s BUILD="$BUILD" "$BUILD/rstream" "$BUILD/librstream.a"
stack() { bash "$ROOT/scripts/stack.sh" "$@"; }
trap 'stack stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK" "$STACK_DIR/nginx/conf.d"
CFLAGS_PC=$(pkg-config --cflags json-c libpq hiredis libjwt libcrypto 2>/dev/null)
LIBS_PC=$(pkg-config --libs json-c libpq hiredis libjwt libcrypto zlib 2>/dev/null)
# shellcheck disable=SC2086
cc -O2 -std=c17 -D_GNU_SOURCE -Ifcgi $CFLAGS_PC bench/video/transcode.c "$BUILD/librstream.a" \
	-lfcgi -lcsv $LIBS_PC -lm -o "$WORK/transcode"

# ---- 1. transcode ----
SRC=$WORK/source-1080p.mp4
if [ ! -s "$SRC" ]; then
	ffmpeg -v error -nostdin -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
		-f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$SECONDS_CLIP" \
		-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac -b:a 128k "$SRC"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# BENCH_VIDEO_SKIP_TRANSCODE=1 reuses the previous transcode results (to rerun only the delivery part)
if [ "${BENCH_VIDEO_SKIP_TRANSCODE:-0}" != 1 ] || [ ! -s "$WORK/transcode.out" ]; then
	"$WORK/transcode" "$SRC" "$WORK/out" "$PRESET" "$SEG" "$ROUNDS" | tee "$WORK/transcode.out" >&2
fi
res=$(grep '^RESULT ' "$WORK/transcode.out")
val() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$res"; }
bare_cmd=$(sed -n 's/^bare command: //p' "$WORK/transcode.out")

# ---- 2. delivery: the pipeline's ladder published under a fixed id, signed vs plain ----
# to_ms "1.23ms" -> 1.23
to_ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.1f", n }'
}
VID=b0b0b0b0b0b0b0b0
stack stop >/dev/null 2>&1 || true
cat >"$STACK_DIR/nginx/conf.d/video-bench.conf" <<CONF
location ^~ /__bench/hls/ {
    alias $STACK_DIR/data/hls/;
    types { video/iso.segment m4s; application/vnd.apple.mpegurl m3u8; }
    add_header Cache-Control "private, max-age=31536000, immutable";
    sendfile on;
    aio threads;
    access_log off;
}
CONF
stack start
eval "$(stack env)"
rm -rf "$RSTREAM_DATA_DIR/hls/$VID"
mkdir -p "$RSTREAM_DATA_DIR/hls"
cp -r "$WORK/out/pipeline" "$RSTREAM_DATA_DIR/hls/$VID"
seg_file=$(cd "$RSTREAM_DATA_DIR/hls/$VID" && ls -d 720p/seg_00001.m4s 2>/dev/null || ls */seg_00001.m4s | head -n 1)
seg_bytes=$(stat -c %s "$RSTREAM_DATA_DIR/hls/$VID/$seg_file")
exp=$(( $(date +%s) + 3600 ))
tok=$(printf '%s' "$exp/$VID $RSTREAM_HLS_SECRET" | openssl md5 -binary | base64 | tr '+/' '-_' | tr -d '=')
signed="/hls/$tok/$exp/$VID/$seg_file"
plain="/__bench/hls/$VID/$seg_file"
for u in "$signed" "$plain"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE$u")
	[ "$code" = 200 ] || { echo "bench: $u answered $code" >&2; exit 1; }
done

# plain and signed alternate DELIVERY_ROUNDS times per concurrency; the median of each is reported, so a burst
# of load from elsewhere on the machine does not land on one side only
DELIVERY_ROUNDS=${BENCH_DELIVERY_ROUNDS:-3}
median() { sort -n | awk '{a[NR] = $1} END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
rows=()
declare -A rps=()
for conns in $CONNS; do
	declare -A runs=() p99s=() errs=()
	for kind in plain signed; do
		path=$plain; [ "$kind" = signed ] && path=$signed
		wrk -t"$THREADS" -c"$conns" -d2s --timeout 5s "$BASE$path" >/dev/null 2>&1 || true
	done
	for ((i = 0; i < DELIVERY_ROUNDS; i++)); do
		for kind in plain signed; do
			path=$plain; [ "$kind" = signed ] && path=$signed
			out=$(wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency --timeout 5s "$BASE$path" 2>&1)
			runs[$kind]+="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") "
			p99s[$kind]+="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")") "
			errs[$kind]=$(( ${errs[$kind]:-0} + $(awk '/Non-2xx or 3xx responses:/ {n = $NF} END {print n + 0}' <<<"$out") ))
		done
	done
	for kind in plain signed; do
		r=$(tr ' ' '\n' <<<"${runs[$kind]}" | grep . | median)
		p=$(tr ' ' '\n' <<<"${p99s[$kind]}" | grep . | median)
		rps[$conns-$kind]=$r
		mb=$(awk -v r="$r" -v b="$seg_bytes" 'BEGIN { printf "%.0f", r * b / 1048576 }')
		rows+=("$conns|$kind|$(printf '%.0f' "$r")|$mb MB/s|$p ms|${errs[$kind]}")
	done
	unset runs p99s errs
done

pipe_s=$(val pipeline_s) bare_s=$(val bare_s) rung_s=$(val per_rung_s)
ratio_bare=$(val pipeline_over_bare) ratio_rung=$(val per_rung_over_pipeline)
# best (least disturbed) round per mode: on a shared machine the minimum is the cleanest reading
best() { awk -v m="$1" '$1 == "round" && $3 == m && $4 == "ok" { if (b == "" || $6 < b) b = $6 } END { print b }' "$WORK/transcode.out"; }
best_pipe=$(best pipeline) best_bare=$(best bare) best_rung=$(best per-rung)
best_ratio_bare=$(awk -v a="$best_pipe" -v b="$best_bare" 'BEGIN { printf "%.3f", a / b }')
best_ratio_rung=$(awk -v a="$best_rung" -v b="$best_pipe" 'BEGIN { printf "%.2f", a / b }')
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "le") ? v <= t : v >= t; print ok ? "meets" : "misses" }'; }
table="| transcode (1080p, ${SECONDS_CLIP} s, preset $PRESET) | wall, median (s) | wall, best round (s) | CPU, median (s) |
|---|---:|---:|---:|
| R-Stream pipeline (one ffmpeg, -progress, checks, storyboard) | $pipe_s | $best_pipe | $(val pipeline_cpu) |
| the same bare one-pass ffmpeg command | $bare_s | $best_bare | $(val bare_cpu) |
| one ffmpeg run per rung | $rung_s | $best_rung | $(val per_rung_cpu) |

- pipeline / bare = **$ratio_bare** median, **$best_ratio_bare** best (target ≤ 1.05: $(verdict "$ratio_bare" 1.05 le) / $(verdict "$best_ratio_bare" 1.05 le))
- per-rung / pipeline = **$ratio_rung** median, **$best_ratio_rung** best (target ≥ 1.25: $(verdict "$ratio_rung" 1.25 ge) / $(verdict "$best_ratio_rung" 1.25 ge));
  in CPU seconds **$(val per_rung_over_pipeline_cpu)** (the three extra decodes and scalings the one-pass ladder saves)

| connections | segment ($seg_bytes bytes) | req/s | transfer/s | p99 | non-2xx |
|---:|---|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
	IFS='|' read -r c k r t p e <<<"$row"
	table+=$'\n'"| $c | $k | $r | $t | $p | $e |"
done
for conns in $CONNS; do
	pct=$(awk -v a="${rps[$conns-signed]}" -v b="${rps[$conns-plain]}" 'BEGIN { printf "%.0f", 100 * a / b }')
	table+=$'\n'$'\n'"- $conns connections: signed = **$pct %** of plain nginx static (target ≥ 90 %: $(verdict "$pct" 90 ge))"
done

cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
section="Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($cpu); load average before: $LOAD_BEFORE.
Transcode: $ROUNDS rounds, order rotated, medians. Delivery: wrk -t$THREADS -d$DURATION on loopback, plain and signed
alternated $DELIVERY_ROUNDS times per concurrency, medians; wrk and nginx share the same cores.

Bare command (as run):

\`\`\`
$bare_cmd
\`\`\`

$table"
echo
echo "$section"

if [ "${BENCH_NO_DOCS:-0}" != 1 ]; then
	begin='<!-- bench:video:begin -->' end='<!-- bench:video:end -->'
	[ -f "$DOC" ] || printf '# Benchmarks\n' >"$DOC"
	grep -qF "$begin" "$DOC" || printf '\n## Video (bench/video/run.sh)\n\n%s\n%s\n' "$begin" "$end" >>"$DOC"
	SECTION=$section python3 - "$DOC" "$begin" "$end" <<'PY'
import os, sys
path, begin, end = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
a = text.index(begin) + len(begin)
b = text.index(end, a)
open(path, "w", encoding="utf-8").write(text[:a] + "\n" + os.environ["SECTION"] + "\n" + text[b:])
PY
	echo "bench: wrote ${DOC#"$ROOT"/}"
fi
