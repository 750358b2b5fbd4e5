#!/bin/sh
# Build the fuzz targets, make their seed corpora, and fuzz each target for a bounded time, one after the other.
# Usage: tests/fuzz/run.sh [-s SECONDS] [-w WORKDIR] [TARGET...]   (default 20 s each, every target, WORKDIR build-fuzz/run)
# A target passes when its run ends with no crash, leak, timeout or out-of-memory report. Crash inputs are kept as
# WORKDIR/crashes/TARGET-*; tests/fuzz/crashes/TARGET/ (reproducers of fixed bugs) is replayed as seeds every time.
# Per target one line "TARGET: ok|FAILED, N runs, cov C, ft F, corpus K"; the last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 2
secs=20 work=build-fuzz/run
while getopts s:w: opt; do
	case $opt in
	s) secs=$OPTARG ;;
	w) work=$OPTARG ;;
	*) echo "usage: $0 [-s SECONDS] [-w WORKDIR] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

targets=$(tests/fuzz/build.sh) || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$work/crashes" "$work/logs" || exit 2
python3 tests/fuzz/make_corpus.py "$work/seeds" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
# The scratch folder the harnesses write into, in memory when there is /dev/shm.
tmp=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp)/ugitfs-fuzz-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0 failed=0
for bin in $targets; do
	name=$(basename "$bin")
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
		continue
	fi
	mkdir -p "$work/corpus/$name" "$work/seeds/$name" "tests/fuzz/crashes/$name"
	log="$work/logs/$name.log"
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	UGITFS_FUZZ_TMP=$tmp ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 $dict \
		-artifact_prefix="$work/crashes/$name-" \
		"$work/corpus/$name" "$work/seeds/$name" "tests/fuzz/crashes/$name" >"$log" 2>&1
	status=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -n 1)
	cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
		verdict=ok passed=$((passed + 1))
	else
		verdict=FAILED failed=$((failed + 1))
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix)' "$log" | head -n 5
	fi
	echo "$name: $verdict, ${runs:-0} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?} (log $log)"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
