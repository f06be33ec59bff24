#!/usr/bin/env bash
# make bench: every benchmark, one after the other, each on its own private stack (loopback only, bounded runs).
# A benchmark is an executable bench/<area>/*.sh that prints a table and regenerates its section of
# docs/benchmarks.md. Usage: bench/run.sh [area-or-script ...]   e.g. bench/run.sh http   bench/run.sh roster/rest.sh
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

mapfile -t all < <(find bench -mindepth 2 -maxdepth 2 -name '*.sh' -perm -u+x | sort)
selected=()
if [ $# -eq 0 ]; then
	selected=("${all[@]}")
else
	for want in "$@"; do
		for s in "${all[@]}"; do
			case $s in "bench/$want"/*|"bench/$want"|"$want") selected+=("$s") ;; esac
		done
	done
fi
[ ${#selected[@]} -gt 0 ] || { echo "bench: nothing matches: $* (have: ${all[*]})" >&2; exit 2; }

failed=()
for s in "${selected[@]}"; do
	echo "==> $s"
	bash "$s" || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi
