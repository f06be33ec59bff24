#!/usr/bin/env bash
# Test runner: tests/run.sh [unit|fuzz|integration|browser|all] [name-filter]
# Unit binaries first (no stack), then the fuzzers (FUZZ_SECONDS each, default 45), then a private stack under var/test on ports 18080/15433/16380 for the
# integration binaries and the browser tests. Ends with one line "N passed, N failed"; non-zero exit on failure.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SUITE=${1:-all}
FILTER=${2:-}
case $SUITE in unit|fuzz|integration|browser|all) ;; *) echo "usage: $0 [unit|fuzz|integration|browser|all] [name-filter]" >&2; exit 2 ;; esac

BUILD=${TEST_BUILD:-build/test}
case $BUILD in /*) BUILD_DIR=$BUILD ;; *) BUILD_DIR=$ROOT/$BUILD ;; esac
export STACK_DIR=${TEST_STACK_DIR:-$ROOT/var/test}
export HTTP_PORT=${TEST_HTTP_PORT:-18080}
export PG_PORT=${TEST_PG_PORT:-15433}
export REDIS_PORT=${TEST_REDIS_PORT:-16380}
export RSTREAM_BIN=$BUILD_DIR/rstream
export STACK_FSYNC=off
export RSTREAM_WORKERS=${RSTREAM_WORKERS:-2}
export RSTREAM_ROOT=$ROOT
# tiny test clips: the fastest x264 preset trims CI time (video.x264_preset)
export RSTREAM_X264_PRESET=${RSTREAM_X264_PRESET:-ultrafast}
# upload admission (docs/operations.md): a quota the tests can reach without sending bytes, and a disk floor
# low enough for a small CI disk
export RSTREAM_UPLOAD_QUOTA_MB=${RSTREAM_UPLOAD_QUOTA_MB:-2048}
export RSTREAM_UPLOAD_MIN_FREE_MB=${RSTREAM_UPLOAD_MIN_FREE_MB:-64}
# notifications (docs/operations.md, "E-mail" and "Webhooks"): the SMTP sink on the HTTP port + 20, webhook
# receivers on loopback (allowed here only), and short retry pauses so the retry tests finish in seconds
export RSTREAM_SMTP_URL=${RSTREAM_SMTP_URL:-smtp://127.0.0.1:$((HTTP_PORT + 20))}
export RSTREAM_MAIL_FROM=${RSTREAM_MAIL_FROM:-"R-Stream テスト <noreply@rstream.test>"}
export RSTREAM_MAIL_RETRY_BASE=${RSTREAM_MAIL_RETRY_BASE:-1}
export RSTREAM_MAIL_MAX_ATTEMPTS=${RSTREAM_MAIL_MAX_ATTEMPTS:-3}
export RSTREAM_WEBHOOK_ALLOW_PRIVATE=${RSTREAM_WEBHOOK_ALLOW_PRIVATE:-loopback}
export RSTREAM_WEBHOOK_RETRY_BASE=${RSTREAM_WEBHOOK_RETRY_BASE:-1}
export RSTREAM_WEBHOOK_MAX_ATTEMPTS=${RSTREAM_WEBHOOK_MAX_ATTEMPTS:-3}
export RSTREAM_WEBHOOK_DISABLE_AFTER=${RSTREAM_WEBHOOK_DISABLE_AFTER:-5}
export RSTREAM_WEBHOOK_TIMEOUT=${RSTREAM_WEBHOOK_TIMEOUT:-3}
export RSTREAM_NOTIFY_DUE_SCAN_SECONDS=${RSTREAM_NOTIFY_DUE_SCAN_SECONDS:-5}
# Servers run sanitized: leaks at exit are noise for a pre-forked server, errors are not (see the log scan).
# A 16 MB quarantine (default 256 MB) still catches a use-after-free within and across requests, and keeps a
# worker's RSS meaningful for the memory test (test_harden_limits measures growth after hostile JSON).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:print_summary=1:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEG_TIMEOUT=${INTEG_TIMEOUT:-1800}   # a loaded CI machine: roster_import took >900 s at load 15
BROWSER_TIMEOUT=${BROWSER_TIMEOUT:-900}

# One run at a time per stack dir: a second run would wipe the first one's stack under it.
mkdir -p "$(dirname "$STACK_DIR")"
exec 9>"$STACK_DIR.lock"
if ! flock -n 9; then
	echo "tests: another run holds $STACK_DIR.lock; waiting (TEST_STACK_DIR and TEST_*_PORT run a second stack)" >&2
	flock -w 3600 9 || { echo "tests: gave up waiting for $STACK_DIR.lock" >&2; exit 1; }
fi

passed=0 failed=0
problems=()
times=()   # "binary Ns" for the summary: the fault suite's (and any long binary's) share of the run
OUT=$STACK_DIR-results   # one log per binary; kept apart from the stack dir, which each run wipes
rm -rf "$OUT"; mkdir -p "$OUT"
stack() { bash "$ROOT/scripts/stack.sh" "$@" 9>&-; }   # daemons must not inherit the lock

stack_up=0
oidc_pid=
smtp_pid=
stop_stack() {
	if [ -n "$oidc_pid" ]; then kill "$oidc_pid" 2>/dev/null; wait "$oidc_pid" 2>/dev/null; oidc_pid=; fi
	if [ -n "$smtp_pid" ]; then kill "$smtp_pid" 2>/dev/null; wait "$smtp_pid" 2>/dev/null; smtp_pid=; fi
	if [ "$stack_up" = 1 ]; then
		stack_up=0
		stack stop >/dev/null 2>&1 || stack stop
		# a test that started its own job worker (the learn fault suite) leaves it outside the supervisor: end it too,
		# but only this stack's (another run may use the same binary with another STACK_DIR)
		local pid
		for pid in $(pgrep -f "^$RSTREAM_BIN (worker|fcgi)"); do
			tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "STACK_DIR=$STACK_DIR" && kill -TERM "$pid" 2>/dev/null
		done
	fi
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SAN_REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
note_problem() { problems+=("$1"); failed=$((failed + 1)); }

# run_criterion BINARY TIMEOUT JOBS: run one Criterion binary, add its synthesis line to the totals.
run_criterion() {
	local bin=$1 tmo=$2 jobs=$3 name log rc line t p f c
	name=${bin#"$ROOT"/}
	log=$OUT/$(basename "$bin").log
	echo "==> $name"
	local t0=$SECONDS
	timeout --kill-after=10 "$tmo" "$bin" --jobs "$jobs" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	times+=("$(basename "$bin") $((SECONDS - t0))s")
	line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'Synthesis: Tested: [0-9]+ \| Passing: [0-9]+ \| Failing: [0-9]+ \| Crashing: [0-9]+' | tail -n 1)
	if [ -z "$line" ]; then
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then note_problem "$name: timed out after ${tmo}s"
		else note_problem "$name: exited $rc without a Criterion summary"; fi
		return
	fi
	read -r t p f c < <(sed -E 's/.*Tested: ([0-9]+) \| Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3 \4/' <<<"$line")
	passed=$((passed + p))
	failed=$((failed + f + c))
	[ "$f" -gt 0 ] && problems+=("$name: $f failing")
	[ "$c" -gt 0 ] && problems+=("$name: $c crashing")
	if [ "$rc" != 0 ] && [ "$f" = 0 ] && [ "$c" = 0 ]; then
		note_problem "$name: exited $rc (sanitizer report or timeout?)"
	elif grep -qE "$SAN_REPORT" "$log"; then
		# Criterion counts a test that leaked or hit undefined behaviour as passed; we do not
		note_problem "$name: sanitizer report in its output ($(grep -oE "$SAN_REPORT" "$log" | sort -u | tr '\n' ' '))"
	fi
}

# binaries BUILD_SUBDIR: the test binaries there, filtered by name; *_faults last (they restart and kill parts of the
# stack, and leave it healthy again for whatever follows)
binaries() {
	local f late=()
	for f in "$BUILD_DIR/tests/$1"/test_*; do
		[ -x "$f" ] && [ -f "$f" ] || continue
		[ -n "$FILTER" ] && [[ $(basename "$f") != *"$FILTER"* ]] && continue
		if [[ $(basename "$f") == *_faults ]]; then late+=("$f"); else echo "$f"; fi
	done
	[ ${#late[@]} -eq 0 ] || printf '%s\n' "${late[@]}"
}

start_stack() {
	[ -x "$RSTREAM_BIN" ] || { note_problem "$RSTREAM_BIN is missing (run: make test)"; return 1; }
	stack stop >/dev/null 2>&1 || true
	rm -rf "$STACK_DIR"
	mkdir -p "$STACK_DIR/screenshots"
	stack_up=1
	if ! stack start; then
		note_problem "the test stack did not start (logs in ${STACK_DIR#"$ROOT"/}/log)"
		return 1
	fi
	eval "$(stack env)"
	export RSTREAM_TEST_URL="http://127.0.0.1:$HTTP_PORT"
	export RSTREAM_TEST_ADMIN_EMAIL=admin@test.example
	RSTREAM_TEST_ADMIN_PASSWORD="Test-$(openssl rand -hex 12)"
	export RSTREAM_TEST_ADMIN_PASSWORD
	if ! "$RSTREAM_BIN" user add --email "$RSTREAM_TEST_ADMIN_EMAIL" --name "Test Admin" --role admin \
		--password "$RSTREAM_TEST_ADMIN_PASSWORD" >/dev/null; then
		note_problem "could not create the test admin"
		return 1
	fi
	# a loopback OpenID Connect provider for the sign-in tests, on the stack's HTTP port + 10
	local oidc_port=$((HTTP_PORT + 10))
	python3 "$ROOT/tests/support/oidc_provider.py" --port "$oidc_port" 9>&- 2>"$STACK_DIR/log/oidc-provider.log" &
	oidc_pid=$!
	export RSTREAM_TEST_OIDC_URL="http://127.0.0.1:$oidc_port"
	local i
	for ((i = 0; i < 100; i++)); do
		curl -fsS "$RSTREAM_TEST_OIDC_URL/.well-known/openid-configuration" >/dev/null 2>&1 && break
		sleep 0.1
	done
	# a real SMTP server (python3-aiosmtpd) on the HTTP port + 20; received mail lands in $STACK_DIR/mail
	local py=python3
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3   # Debian's, which has python3-aiosmtpd
	export RSTREAM_TEST_MAIL_DIR="$STACK_DIR/mail"
	"$py" "$ROOT/tests/support/smtp_sink.py" --port "$((HTTP_PORT + 20))" --dir "$RSTREAM_TEST_MAIL_DIR" 9>&- \
		2>"$STACK_DIR/log/smtp-sink.log" &
	smtp_pid=$!
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$((HTTP_PORT + 20))") 2>/dev/null && break
		sleep 0.1
	done
}

# Server logs must hold no sanitizer report: a worker that crashed and was respawned hides its error otherwise.
scan_server_logs() {
	local hits
	hits=$(grep -lE "$SAN_REPORT" "$STACK_DIR"/log/*.log 2>/dev/null)
	if [ -n "$hits" ]; then
		for f in $hits; do
			echo "---- sanitizer report in ${f#"$ROOT"/} ----"
			grep -E -A 30 "$SAN_REPORT" "$f" | head -n 60
		done
		note_problem "sanitizer reports in server logs: $(echo $hits | xargs -n1 basename | tr '\n' ' ')"
	fi
}

# ---- unit ----
if [ "$SUITE" = unit ] || [ "$SUITE" = all ]; then
	mapfile -t units < <(binaries unit)
	[ ${#units[@]} -gt 0 ] || [ -n "$FILTER" ] || echo "(no unit test binaries under $BUILD/tests/unit)"
	for b in "${units[@]}"; do
		# unit tests leak-checked: pure modules have no excuse
		ASAN_OPTIONS=detect_leaks=1:print_summary=1 RSTREAM_SECRET=unit-test-secret-0123456789abcdef0123 \
			run_criterion "$b" "$UNIT_TIMEOUT" 2
	done
fi

# ---- fuzz: each harness for FUZZ_SECONDS, one passed/failed entry per target ----
fuzz_line=""
if [ "$SUITE" = fuzz ] || [ "$SUITE" = all ]; then
	targets=()
	for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
		t=$(basename "$f" .c); t=${t#fuzz_}
		[ -n "$FILTER" ] && [[ $t != *"$FILTER"* ]] && continue
		targets+=("$t")
	done
	if [ ${#targets[@]} -gt 0 ]; then
		echo "==> tests/fuzz (${FUZZ_SECONDS:-45} s each: ${targets[*]})"
		FUZZ_SECONDS=${FUZZ_SECONDS:-45} bash tests/fuzz/run.sh "${targets[@]}" 2>&1 | tee "$OUT/fuzz.log"
		line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$OUT/fuzz.log" | tail -n 1)
		if [ -z "$line" ]; then
			note_problem "tests/fuzz/run.sh: ended without a summary"
		else
			read -r p f e s < <(sed -E 's/^fuzz: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) executions in ([0-9]+) s.*/\1 \2 \3 \4/' <<<"$line")
			passed=$((passed + p)); failed=$((failed + f))
			[ "$f" -gt 0 ] && problems+=("tests/fuzz: $f target(s) failed: $(grep -E '^fuzz [a-z]+: FAILED' "$OUT/fuzz.log" | cut -d: -f1 | tr '\n' ' ')")
			fuzz_line="fuzzing: ${#targets[@]} targets, $e executions in $s s"
		fi
	fi
fi

# ---- integration + browser, against one stack ----
if [ "$SUITE" != unit ] && [ "$SUITE" != fuzz ]; then
	if start_stack; then
		if [ "$SUITE" = integration ] || [ "$SUITE" = all ]; then
			mapfile -t integs < <(binaries integration)
			for b in "${integs[@]}"; do
				# one test at a time: they share the stack (logins, lockouts, counters)
				run_criterion "$b" "$INTEG_TIMEOUT" 1
			done
		fi
		if [ "$SUITE" = browser ] || [ "$SUITE" = all ]; then
			echo "==> tests/browser"
			# the Makefile's asset stamp can outlive a deleted node_modules
			[ -d "$ROOT/node_modules/playwright-core" ] ||
				npm install --no-audit --no-fund --loglevel=error >"$OUT/npm.log" 2>&1 || cat "$OUT/npm.log"
			if [ ! -d "$ROOT/node_modules/playwright-core" ]; then
				note_problem "node_modules/playwright-core is missing (npm install failed: $OUT/npm.log)"
			else
				timeout --kill-after=10 "$BROWSER_TIMEOUT" node tests/browser/run.mjs $FILTER 2>&1 | tee "$OUT/browser.log"
				rc=${PIPESTATUS[0]}
				line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/browser.log" | tail -n 1)
				if [ -z "$line" ]; then
					note_problem "tests/browser/run.mjs: exited $rc without a summary"
				else
					p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
					passed=$((passed + p)); failed=$((failed + f))
					[ "$f" -gt 0 ] && problems+=("tests/browser: $f failing")
					[ "$rc" != 0 ] && [ "$f" = 0 ] && note_problem "tests/browser/run.mjs: exited $rc"
				fi
			fi
		fi
	fi
	stop_stack
	scan_server_logs
fi

echo
# the slowest binaries and the fault suite, so the time a run takes is visible where its result is
if [ ${#times[@]} -gt 0 ]; then
	echo "Times (slowest first): $(printf '%s\n' "${times[@]}" | sort -k2 -rn | head -n 6 | paste -sd ',' | sed 's/,/, /g')"
	printf '%s\n' "${times[@]}" | grep '_faults ' | sed 's/^/Fault suite: /'
fi
if [ ${#problems[@]} -gt 0 ]; then
	echo "Problems:"
	printf '  - %s\n' "${problems[@]}"
	echo
fi
[ -n "$fuzz_line" ] && echo "$fuzz_line"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
