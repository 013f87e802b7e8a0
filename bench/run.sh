#!/usr/bin/env bash
# Runs every benchmark scenario against sioc, the Node reference and the
# floor peer (the same bytes on bare epoll; recovery and admin, which
# measure sioc's own features on and off, against sioc alone; cluster, two
# nodes on a redis-server the harness starts, sioc's pair against Node's
# pair, without the floor), then writes
# bench/results/<date>/ (results.json, table.md, PNG plots, logs/) and,
# after a full run, copies the table, results and plots to
# bench/results/latest/ (the ones BENCHMARKS.md shows).
#
#   bench/run.sh [--quick] [--only idle,echo,...] [--servers sioc,node,floor]
#                [--set KEY=V,...] [--quiet-wait S]
#
# The full run takes about 23 minutes (22.4-22.8 in three runs), the
# rounds that measure the admin namespace's cost (admin_rounds=3) and the
# steady broadcast against the floor (bcast_rounds=5), each round both
# sides, interleaved, included; --quick
# is a smoke run of about four (2 rounds each). --set admin_rounds=1,
# bcast_rounds=0 measures one window per side as before, about 5 minutes
# shorter (a partial run). Scenarios and the measurement method: BENCHMARKS.md. Benchmarks
# report; they never fail: a scenario that cannot run is recorded as such.
#
# Setup done here when missing: gnuplot-nox (apt-get), the Node peer's
# modules (npm ci), a release build of sioc, the floor peer and the load
# generator in build-bench/ (no sanitizers).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=$PWD
build=$root/build-bench
stamp=$(date -u +%Y-%m-%d_%H%M%S)
out=$root/bench/results/$stamp
latest=$root/bench/results/latest

say() { printf 'run.sh: %s\n' "$*" >&2; }

# 10k clients need 10k descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10100 ]; then
	say "warning: open-files limit $(ulimit -n); 10k-client scenarios need about 10050 per process"
fi

# the harness is standard-library Python 3 (Debian's python3)
if ! command -v python3 >/dev/null; then
	say "installing python3 for the harness"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3; } \
		>/dev/null 2>&1 || { say "error: python3 is needed"; exit 1; }
fi

if ! command -v gnuplot >/dev/null; then
	say "installing gnuplot-nox for the plots"
	if [ "$(id -u)" = 0 ]; then
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox; } \
			>/dev/null 2>&1 || say "warning: could not install gnuplot-nox: no plots"
	else
		say "warning: not root, cannot apt-get install gnuplot-nox: no plots"
	fi
fi

node_dir=$root/bench/peers/node
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
	[ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
	say "npm ci in bench/peers/node"
	(cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) || {
		say "npm ci failed: cannot run the Node peer"
		exit 1
	}
fi

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null || exit 1
fi
ninja -C "$build" bench/peers/sioc/bench_server bench/peers/floor/floor_server \
	bench/loadgen/loadgen >/dev/null || {
	say "build failed"
	exit 1
}

previous=
[ -f "$latest/results.json" ] && previous=$latest/results.json
mkdir -p "$out"
say "results in ${out#"$root"/}"
BENCH_COMMAND="bench/run.sh $*" /usr/bin/python3 "$root/bench/harness.py" --build "$build" --out "$out" \
	${previous:+--previous "$previous"} "$@"
status=$?
if [ $status -ne 0 ] || [ ! -f "$out/table.md" ]; then
	[ $status -ne 0 ] && say "the harness stopped early (status $status); see ${out#"$root"/}"
	rmdir "$out" 2>/dev/null # nothing ran (--help)
	exit 0
fi

if command -v gnuplot >/dev/null; then
	gnuplot -e "dir='$out'" "$root/bench/plot.gp" 2>"$out/logs/gnuplot.log" ||
		say "warning: gnuplot failed, see ${out#"$root"/}/logs/gnuplot.log"
fi

# Only a full run of everything replaces the results BENCHMARKS.md shows.
partial=
for a in "$@"; do
	case $a in --quick | --only* | --servers* | --set*) partial=1 ;; esac
done
if [ -n "$partial" ]; then
	say "table: ${out#"$root"/}/table.md (a partial run: bench/results/latest/ left alone)"
	exit 0
fi
mkdir -p "$latest"
rm -f "$latest"/*.png
cp "$out/table.md" "$out/results.json" "$latest/"
cp "$out"/*.png "$out"/*.dat "$latest/" 2>/dev/null
say "table: ${out#"$root"/}/table.md (copied to bench/results/latest/)"
exit 0
