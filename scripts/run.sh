#!/usr/bin/env bash
# `make run`: start the local stack with demo data, print the URL and the admin login, stay in the foreground.
# Ctrl-C (or TERM) stops everything this started; `make stop` from another terminal does too.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export STACK_DIR=${STACK_DIR:-$ROOT/var}
ADMIN_EMAIL=${RSTREAM_ADMIN_EMAIL:-admin@example.jp}

stack() { bash "$ROOT/scripts/stack.sh" "$@"; }

stopping=0
tailpid=
cleanup() {
	[ "$stopping" = 1 ] && return
	stopping=1
	[ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
	echo
	echo "run: stopping the stack..."
	stack stop || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

stack start
eval "$(stack env)"

"$RSTREAM_BIN" seed

# The admin password is generated once and kept in $STACK_DIR/admin-password (mode 600).
pwfile=$STACK_DIR/admin-password
# one query, exit 0/1 (2: database error, which stops us here instead of creating a duplicate)
exists=0
rc=0
"$RSTREAM_BIN" user exists --email "$ADMIN_EMAIL" || rc=$?
case $rc in 0) exists=1 ;; 1) ;; *) echo "run: cannot look up $ADMIN_EMAIL (rstream user exists exited $rc)" >&2; exit 1 ;; esac
if [ -s "$pwfile" ]; then
	password=$(head -n 1 "$pwfile")
	if [ "$exists" = 0 ]; then
		"$RSTREAM_BIN" user add --email "$ADMIN_EMAIL" --name "Administrator" --role admin --password "$password" >/dev/null
	fi
else
	password=$(openssl rand -base64 24 | tr -d '/+=\n' | cut -c1-20)
	if [ "$exists" = 1 ]; then
		"$RSTREAM_BIN" user passwd --email "$ADMIN_EMAIL" --password "$password" >/dev/null
	else
		"$RSTREAM_BIN" user add --email "$ADMIN_EMAIL" --name "Administrator" --role admin --password "$password" >/dev/null
	fi
	(umask 077; printf '%s\n' "$password" >"$pwfile")
fi
chmod 600 "$pwfile"

# Demo OneRoster bundles to try the roster hub with: upload the bulk one, then the delta.
demo=$STACK_DIR/demo
mkdir -p "$demo"
[ -s "$demo/roster-demo.zip" ] || python3 "$ROOT/scripts/gen_roster_bundle.py" --users 200 --out "$demo/roster-demo.zip" >/dev/null
[ -s "$demo/roster-demo-delta.zip" ] || python3 "$ROOT/scripts/gen_roster_bundle.py" --users 200 --variant delta --out "$demo/roster-demo-delta.zip" >/dev/null

# Demo sign-ins: the bulk demo roster is imported once, so its teacher has classes with pupils. The teacher gets a
# password (kept like the admin's); the pupil gets a fresh login-card code each run (codes are stored hashed only).
DEMO_TEACHER=t000001@sakura.example.jp
DEMO_PUPIL=s000011
rc=0
"$RSTREAM_BIN" user exists --email "$DEMO_TEACHER" || rc=$?
if [ "$rc" = 1 ]; then
	"$RSTREAM_BIN" import "$demo/roster-demo.zip" >"$STACK_DIR/log/demo-import.log" 2>&1 ||
		echo "run: importing the demo roster failed (${STACK_DIR#"$ROOT"/}/log/demo-import.log)" >&2
	"$RSTREAM_BIN" seed >/dev/null   # again: the demo course and assignment go to the demo teacher's class
fi
tpwfile=$STACK_DIR/demo-teacher-password
[ -s "$tpwfile" ] || (umask 077; openssl rand -base64 24 | tr -d '/+=\n' | cut -c1-16 >"$tpwfile")
teacher_password=$(head -n 1 "$tpwfile")
"$RSTREAM_BIN" user passwd --email "$DEMO_TEACHER" --password "$teacher_password" >/dev/null 2>&1 || teacher_password="(demo roster missing)"
pupil_code=$("$RSTREAM_BIN" user code --username "$DEMO_PUPIL" --days 30 2>/dev/null) || pupil_code="(demo roster missing)"

cat <<EOF

  R-Stream is running:  $RSTREAM_PUBLIC_URL/

  Admin login:          $ADMIN_EMAIL
  Password:             $password      (kept in ${pwfile#"$ROOT"/})

  Demo teacher:         $DEMO_TEACHER   password $teacher_password   (kept in ${tpwfile#"$ROOT"/})
  Demo pupil $DEMO_PUPIL:   login-card code $pupil_code at $RSTREAM_PUBLIC_URL/login/code   (new code every run)

  Demo roster bundles:  ${demo#"$ROOT"/}/roster-demo.zip, then roster-demo-delta.zip
                        (名簿 → 名簿取込 / Roster → Roster imports)

  Logs:                 ${STACK_DIR#"$ROOT"/}/log/   (following error.log and security.log below)
  Stop:                 Ctrl-C here, or \`make stop\` from another terminal

EOF

# Follow the app logs until interrupted or until the stack is stopped from elsewhere.
tail -n 0 -F "$STACK_DIR/log/fcgi.log" "$STACK_DIR/log/worker.log" "$STACK_DIR/log/error.log" \
	"$STACK_DIR/log/security.log" 2>/dev/null &
tailpid=$!
# The stack supervises rstream fcgi and rstream worker (restart with backoff, logged in their logs); we stay
# until their supervisor is gone, i.e. until the stack is stopped (Ctrl-C here or `make stop`).
suppid=$(cat "$STACK_DIR/run/fcgi.supervisor.pid")
while kill -0 "$suppid" 2>/dev/null; do
	sleep 2 &
	wait $! || true
done
echo "run: the stack was stopped (make stop?)"
# stopped from elsewhere: no second stop on the way out, which could stop a stack a new `make run` started since
kill "$tailpid" 2>/dev/null || true
stopping=1
