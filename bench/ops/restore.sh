#!/usr/bin/env bash
# Backup and restore benchmark (RTO; part of make bench; bash bench/run.sh ops): a stack holding a generated roster
# of BENCH_RESTORE_USERS users (default 200,000, ~1,000,000 enrollments, imported by `rstream import`) and
# BENCH_RESTORE_MEDIA_MB of media files (default 1024, 2 MB segments: the size of an HLS rung's files) is backed up
# (`rstream backup`, then again: the incremental run), then restored into a second, empty stack
# (`rstream restore`: verify every checksum, pg_restore, move the media). Prints a table and regenerates the
# "ops-restore" section of docs/benchmarks.md (BENCH_NO_DOCS=1 leaves it alone).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
USERS=${BENCH_RESTORE_USERS:-200000}
MEDIA_MB=${BENCH_RESTORE_MEDIA_MB:-1024}
export RSTREAM_BIN=${RSTREAM_BIN:-$ROOT/build/rstream}
export STACK_NO_APP=1
A=${BENCH_STACK_DIR:-$ROOT/var/bench-ops}/a
B=${BENCH_STACK_DIR:-$ROOT/var/bench-ops}/b
WORK=$(dirname "$A")/work
DOC=$ROOT/docs/benchmarks.md
[ -x "$RSTREAM_BIN" ] || { echo "bench: $RSTREAM_BIN is missing (make)" >&2; exit 1; }
[[ $USERS =~ ^[0-9]+$ ]] && [ "$USERS" -ge 1000 ] || { echo "bench: BENCH_RESTORE_USERS must be >= 1000" >&2; exit 1; }

stack_a() { STACK_DIR=$A HTTP_PORT=19780 PG_PORT=19733 REDIS_PORT=19781 bash "$ROOT/scripts/stack.sh" "$@"; }
stack_b() { STACK_DIR=$B HTTP_PORT=19790 PG_PORT=19743 REDIS_PORT=19791 bash "$ROOT/scripts/stack.sh" "$@"; }
trap 'stack_a stop >/dev/null 2>&1 || true; stack_b stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stack_a stop >/dev/null 2>&1 || true
stack_b stop >/dev/null 2>&1 || true
rm -rf "$A" "$B" "$WORK/repo"
mkdir -p "$WORK"
(umask 077; [ -s "$WORK/backup.key" ] || openssl rand -hex 32 >"$WORK/backup.key")
export RSTREAM_BACKUP_DIR=$WORK/repo RSTREAM_BACKUP_KEY_FILE=$WORK/backup.key

now_s() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

# ---- the source stack: a roster and media ----
stack_a start
(
	eval "$(stack_a env)"
	"$RSTREAM_BIN" migrate >/dev/null
	BUNDLE=$WORK/bundle-$USERS.zip
	[ -s "$BUNDLE" ] || python3 scripts/gen_roster_bundle.py --users "$USERS" --seed 4 --out "$BUNDLE"
	"$RSTREAM_BIN" import "$BUNDLE" >/dev/null 2>"$WORK/import.log"
	for ((i = 0; i < MEDIA_MB / 2; i++)); do
		d=$RSTREAM_DATA_DIR/hls/$(printf 'bench%011d' $((i / 100)))
		mkdir -p "$d"
		head -c 2097152 /dev/urandom >"$d/seg_$(printf '%05d' "$i").m4s"
	done
	psql "$DATABASE_URL" -XAtc "SELECT pg_size_pretty(pg_database_size(current_database())), (SELECT count(*) FROM roster_users), (SELECT count(*) FROM roster_enrollments)" >"$WORK/db.txt"
	t0=$(now_s); "$RSTREAM_BIN" backup >"$WORK/backup1.txt" 2>"$WORK/backup1.log"; t1=$(now_s)
	sleep 1
	"$RSTREAM_BIN" backup >"$WORK/backup2.txt" 2>"$WORK/backup2.log"; t2=$(now_s)
	echo "$(secs "$t0" "$t1") $(secs "$t1" "$t2")" >"$WORK/backup-times.txt"
)
stack_a stop >/dev/null

# ---- the empty stack: restore ----
stack_b start
(
	eval "$(stack_b env)"
	t0=$(now_s); "$RSTREAM_BIN" restore >"$WORK/restore.txt" 2>"$WORK/restore.log"; t1=$(now_s)
	echo "$(secs "$t0" "$t1")" >"$WORK/restore-time.txt"
	psql "$DATABASE_URL" -XAtc "SELECT (SELECT count(*) FROM roster_users), (SELECT count(*) FROM roster_enrollments)" >"$WORK/restored.txt"
)

IFS='|' read -r dbsize nusers nenr <"$WORK/db.txt"
IFS='|' read -r rusers renr <"$WORK/restored.txt"
read -r tb1 tb2 <"$WORK/backup-times.txt"
tr=$(cat "$WORK/restore-time.txt")
[ "$rusers" = "$nusers" ] && [ "$renr" = "$nenr" ] || { echo "bench: restored counts differ ($rusers/$nusers, $renr/$nenr)" >&2; exit 1; }
repo=$(du -sh "$WORK/repo" | cut -f1)
table=$(cat <<EOT
Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores (load average $(cut -d" " -f1 /proc/loadavg) at the end), $(free -g | awk '/Mem:/{print $2}') GiB; $(psql --version | awk '{print "PostgreSQL " $3}'), fsync on.
Source: $nusers roster users, $nenr enrollments (database $dbsize) and $MEDIA_MB MB of media in 2 MB files; repository $repo.

| step | seconds | what it printed |
|---|---:|---|
| \`rstream backup\` (first: every file encrypted) | $tb1 | $(sed -n 1p "$WORK/backup1.txt") |
| \`rstream backup\` again (incremental: nothing changed) | $tb2 | $(sed -n 1p "$WORK/backup2.txt") |
| \`rstream restore\` into an empty stack (verify all, pg_restore, media) | **$tr** | $(sed -n 1p "$WORK/restore.txt") |

Restored row counts equal the source's ($rusers users, $renr enrollments).

**RTO** for this size: the restore time above, plus installing the host. The media part scales with the bytes
(verify reads and decrypts everything once; the final moves are renames): extrapolate from the verify rate above.
**RPO**: the interval of rstream-backup.timer (nightly: up to 24 h of changes; hourly: 1 h).
EOT
)
echo
echo "$table"
if [ "${BENCH_NO_DOCS:-0}" != 1 ]; then
	python3 - "$DOC" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
begin, end = "<!-- bench:ops-restore:begin -->", "<!-- bench:ops-restore:end -->"
text = open(path, encoding="utf-8").read()
block = begin + "\n" + table + "\n" + end
if begin in text and end in text:
    a, b = text.index(begin), text.index(end) + len(end)
    text = text[:a] + block + text[b:]
else:
    text = text.rstrip("\n") + "\n\n## Backup and restore: RTO and RPO (bench/ops/restore.sh)\n\n" + block + "\n"
open(path, "w", encoding="utf-8").write(text)
PY
	echo "bench: updated the ops-restore section of docs/benchmarks.md"
fi
