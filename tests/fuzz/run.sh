#!/usr/bin/env bash
# Run the libFuzzer harnesses (make fuzz-bin builds them): tests/fuzz/run.sh [target...]
# Each runs FUZZ_SECONDS (default 60) from its committed seeds (tests/fuzz/<target>/, read only) plus a working
# corpus under $FUZZ_OUT that grows across runs. A crash leaves its input in $FUZZ_OUT/crash-<target>-*: fix the
# bug, then commit the input into tests/fuzz/<target>/ as a regression seed (docs/fuzzing.md).
# Prints one line per target and ends with "fuzz: N passed, N failed, E executions in S s".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
BIN=${FUZZ_BUILD:-$ROOT/build/fuzz}
OUT=${FUZZ_OUT:-$BIN/runs}
ALL=(csv zip filter template srt request json search ttf)
[ $# -gt 0 ] && ALL=("$@")
[[ $SECONDS_EACH =~ ^[0-9]+$ ]] && [ "$SECONDS_EACH" -ge 1 ] || { echo "fuzz: FUZZ_SECONDS must be a positive integer" >&2; exit 2; }
mkdir -p "$OUT"

passed=0 failed=0 execs_total=0
start=$(date +%s)
for t in "${ALL[@]}"; do
	bin=$BIN/fuzz_$t
	log=$OUT/$t.log
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: FAILED: $bin is missing (make fuzz-bin)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$OUT/corpus/$t"
	# the template parser also starts from the real templates (read in place, so the seeds never go stale)
	extra=()
	[ "$t" = template ] && extra=("$ROOT/templates")
	rm -f "$OUT"/crash-"$t"-* "$OUT"/leak-"$t"-* "$OUT"/timeout-"$t"-* "$OUT"/oom-"$t"-*
	t0=$(date +%s)
	# -timeout: one input taking 10 s is a finding; -rss_limit_mb: so is one that needs 1 GiB
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		timeout --kill-after=10 $((SECONDS_EACH + 300)) "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$OUT/crash-$t-" \
		"$OUT/corpus/$t" "$ROOT/tests/fuzz/$t" "${extra[@]}" >"$log" 2>&1
	rc=$?
	execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+$')
	execs=${execs:-0}
	execs_total=$((execs_total + execs))
	took=$(($(date +%s) - t0))
	artifact=$(ls "$OUT"/crash-"$t"-* 2>/dev/null | head -n 1)
	if [ "$rc" = 0 ] && [ -z "$artifact" ]; then
		echo "fuzz $t: ok, $execs executions in ${took}s, corpus $(ls "$OUT/corpus/$t" | wc -l) inputs"
		passed=$((passed + 1))
	else
		echo "fuzz $t: FAILED (exit $rc) after $execs executions; input: ${artifact:-none}; log: $log"
		grep -E -m 1 -A 25 'ERROR: |runtime error|==ERROR|deadly signal' "$log" | head -n 40
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed, $execs_total executions in $(($(date +%s) - start)) s"
[ "$failed" = 0 ]
