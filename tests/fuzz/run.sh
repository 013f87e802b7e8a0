#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz/ with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, replays the saved regression inputs, then
# fuzzes each target for a bounded time from its seed corpus.
#
#   tests/fuzz/run.sh [repo root]
#
# Environment:
#   FUZZ_SECONDS  seconds of fuzzing per target (default 15; 0: replay only)
#   FUZZ_SEED     libFuzzer's random seed (default 1: every run walks the
#                 same inputs, as far as its time allows, so CI's outcome
#                 is one we have seen here; "random" lets libFuzzer choose,
#                 for long runs by hand that look for new inputs)
#   FUZZ_TARGETS  the targets to run, space separated (default: all), as
#                 file names without fuzz_ and .c ("base64 http1")
#   FUZZ_WORK     a folder to build and fuzz in, kept afterwards (default:
#                 a temporary one, removed unless something failed)
#   CC            the compiler (default clang)
#
# The seed corpus (corpus/<target>/) is only read: the fuzzer works on a
# copy, so the repository is never modified. Each file in
# regressions/<target>/ is an input that once failed; it is run first and
# must pass. Exits 0 when everything passed, 1 when a target crashed,
# leaked, timed out or ran out of memory (its input is printed in hex and
# base64, ready to become a regression file), 77 (meson's "skipped") when
# clang cannot build libFuzzer targets here.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${1:-$here/../..}" && pwd)"
fuzz_dir="$repo/tests/fuzz"
seconds="${FUZZ_SECONDS:-15}"
fuzz_seed="${FUZZ_SEED:-1}"
cc="${CC:-clang}"
llhttp_src=/usr/share/llhttp
llhttp_inc=/usr/share/include/llhttp

# target name -> the project sources it is built with
declare -A sources=(
	[base64]="protocol/eio_packet.c"
	[eio_packet]="protocol/eio_packet.c"
	[eio_payload]="protocol/eio_packet.c"
	[eio_v3_payload]="protocol/eio_v3.c protocol/eio_packet.c protocol/json.c protocol/utf8.c"
	[jsonp]="protocol/eio_v3.c protocol/eio_packet.c protocol/utf8.c"
	[utf8]="protocol/utf8.c"
	[sio_packet]="protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
	[sio_decoder]="protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
	[json_args]="protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
	[sio_msgpack]="protocol/sio_msgpack.c protocol/msgpack_value.c protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
	[cluster_msg]="protocol/cluster_msg.c protocol/msgpack_value.c protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
	[msgpack_value]="protocol/msgpack_value.c protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
	[http1]="http/http1.c http/request.c base/util.c"
	[json]="protocol/json.c protocol/utf8.c"
	[ws_parser]="protocol/ws_parser.c protocol/utf8.c base/util.c base/pool.c"
	[tls]="transports/tls.c base/util.c"
	[redis_msg]="cluster/redis_msg.c protocol/msgpack_value.c protocol/sio_packet.c protocol/json.c protocol/utf8.c base/util.c"
)
# target name -> dictionary (dict/<name>.dict)
declare -A dicts=(
	[sio_packet]=json [sio_decoder]=json [json_args]=json [json]=json [http1]=http1
	[eio_v3_payload]=eio_v3 [jsonp]=eio_v3 [sio_msgpack]=msgpack [msgpack_value]=msgpack
	[redis_msg]=msgpack [cluster_msg]=json
)
all_targets="base64 eio_packet eio_payload eio_v3_payload jsonp utf8 json sio_packet sio_decoder"
all_targets+=" json_args sio_msgpack msgpack_value cluster_msg http1 ws_parser redis_msg tls"
targets="${FUZZ_TARGETS:-$all_targets}"

for t in $targets; do
	if [ -z "${sources[$t]+x}" ]; then
		echo "fuzz: unknown target '$t' (known: $all_targets)" >&2
		exit 2
	fi
done

if [ -n "${FUZZ_WORK:-}" ]; then
	work="$FUZZ_WORK"
	keep_work=1
	mkdir -p "$work"
else
	work="$(mktemp -d "${TMPDIR:-/tmp}/sioc-fuzz.XXXXXX")"
	keep_work=0
fi
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ "$keep_work" -eq 0 ]; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT

skip() {
	echo "fuzz: SKIP: $*" >&2
	exit 77
}

# Can this compiler build and run a libFuzzer target with the sanitizers?
command -v "$cc" >/dev/null 2>&1 || skip "$cc not found (install clang; scripts/setup.sh does)"
cat >"$work/probe.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	return (int)(n > 0 && d[0] == 0);
}
EOF
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" \
	>"$work/probe.log" 2>&1 || ! "$work/probe" -runs=1 >>"$work/probe.log" 2>&1; then
	cat "$work/probe.log" >&2
	skip "$cc cannot build libFuzzer targets (Debian: install libclang-rt-14-dev)"
fi
[ -f "$llhttp_src/llhttp.c" ] || skip "llhttp sources missing in $llhttp_src (node-llhttp)"

jansson_flags="$(pkg-config --cflags --libs jansson 2>/dev/null || echo -ljansson)"
# shellcheck disable=SC2054 # the commas belong to the flag
sanitize=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
cflags=(-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
	-Wall -Wextra -Wno-unused-parameter -Werror
	-I"$repo" -I"$repo/include" -I"$llhttp_inc")

# The sanitizers' settings are ours, whatever the caller exported.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=
if symbolizer="$(command -v llvm-symbolizer)"; then
	export ASAN_SYMBOLIZER_PATH="$symbolizer"
fi

start=$(date +%s)
mkdir -p "$work/bin" "$work/obj" "$work/corpus" "$work/artifacts" "$work/logs"

echo "fuzz: building in $work/bin"
# llhttp is third-party: built with its warnings off, instrumented alike.
if [[ " $targets " == *" http1 "* ]]; then
	for f in llhttp api http; do
		"$cc" -g -O1 -w -fsanitize=fuzzer-no-link,address,undefined \
			-fno-sanitize-recover=undefined -I"$llhttp_inc" \
			-c "$llhttp_src/$f.c" -o "$work/obj/llhttp_$f.o" || exit 1
	done
fi
for t in $targets; do
	srcs=()
	for s in ${sources[$t]}; do
		srcs+=("$repo/$s")
	done
	extra=()
	[ "$t" = http1 ] && extra=("$work"/obj/llhttp_*.o)
	[ "$t" = tls ] && extra=(-lssl -lcrypto)
	# shellcheck disable=SC2086 # jansson_flags is a list of flags
	"$cc" "${cflags[@]}" "${sanitize[@]}" "$fuzz_dir/fuzz_$t.c" "${srcs[@]}" "${extra[@]}" \
		$jansson_flags -o "$work/bin/fuzz_$t" || exit 1
done

# Prints what a failing run said: the target's own messages and the
# sanitizer's report, with the stack frames outside libFuzzer and libc.
show_failure() {
	awk '/^(#[0-9]+|Running:|INFO:|MS:|base unit:)/ || / Running [0-9]+ inputs / { n = 0; next }
		/^    #[0-9]+ / {
			if ($0 !~ /fuzzer::|libc|__sanitizer|pthread_kill|raise\.c|abort\.c| in (main|_start) /)
				if (f++ < 12) print
			next
		}
		/^SUMMARY:/ { print "  " $0; exit }
		/^NOTE: libFuzzer|^      *Combine libFuzzer|^$/ { next }
		n++ < 30 { print "  " $0 }' "$1"
}

# Prints a failing input so that it can be saved as a regression file.
print_input() {
	local f="$1" t="$2"
	echo "  input $(basename "$f") ($(wc -c <"$f") bytes):"
	echo "    hex:    $(od -An -v -tx1 "$f" | tr -d ' \n' | head -c 8192)"
	echo "    base64: $(base64 -w0 "$f" | head -c 8192)"
	case "$f" in
	"$fuzz_dir"/*) ;;
	*) echo "  keep it: base64 -d > tests/fuzz/regressions/$t/<name> <<< '<base64 above>'" ;;
	esac
}

failed=()
summary=()
for t in $targets; do
	bin="$work/bin/fuzz_$t"
	log="$work/logs/$t.log"

	# 1. the regressions: every file must pass
	regs=()
	if [ -d "$fuzz_dir/regressions/$t" ]; then
		while IFS= read -r -d '' f; do
			regs+=("$f")
		done < <(find "$fuzz_dir/regressions/$t" -type f ! -name '.*' -print0 | sort -z)
	fi
	for f in "${regs[@]}"; do
		if ! "$bin" -rss_limit_mb=1024 -timeout=25 -error_exitcode=1 -timeout_exitcode=1 \
			"$f" >"$log.reg" 2>&1; then
			echo "fuzz: $t: regression $(basename "$f") FAILS"
			show_failure "$log.reg"
			print_input "$f" "$t"
			failed+=("$t (regression $(basename "$f"))")
		fi
	done

	[ "$seconds" -gt 0 ] || continue

	# 2. fuzzing, from a copy of the seeds
	rm -rf "$work/corpus/$t" "$work/artifacts/$t"
	mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
	if [ -d "$fuzz_dir/corpus/$t" ]; then
		cp -R "$fuzz_dir/corpus/$t/." "$work/corpus/$t/"
	fi
	seeds=$(find "$work/corpus/$t" -type f | wc -l)
	opts=(-max_total_time="$seconds" -rss_limit_mb=1024 -timeout=25 -error_exitcode=1
		-timeout_exitcode=1 -print_final_stats=1
		-artifact_prefix="$work/artifacts/$t/")
	if [ "$fuzz_seed" != random ]; then
		opts+=(-seed="$fuzz_seed")
	fi
	if [ -n "${dicts[$t]+x}" ]; then
		opts+=(-dict="$fuzz_dir/dict/${dicts[$t]}.dict")
	fi
	"$bin" "${opts[@]}" "$work/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+' | head -n 1)
	units=$(find "$work/corpus/$t" -type f | wc -l)
	seed=$(sed -n 's/^INFO: Seed: //p' "$log" | head -n 1)
	summary+=("$(printf '%-12s %9s runs %7s exec/s  %-10s corpus %3s -> %s  seed %s' \
		"$t" "${runs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$seeds" "$units" "${seed:-?}")")
	artifacts=("$work/artifacts/$t"/*)
	if [ "$rc" -ne 0 ] || [ -e "${artifacts[0]}" ]; then
		echo "fuzz: $t FAILED (exit $rc, seed ${seed:-?}):"
		show_failure "$log"
		for f in "${artifacts[@]}"; do
			[ -e "$f" ] && print_input "$f" "$t"
		done
		failed+=("$t")
		keep_work=1
	fi
done

echo
echo "fuzz: ${seconds}s per target"
for line in "${summary[@]}"; do
	echo "  $line"
done
echo "fuzz: done in $(($(date +%s) - start))s"
if [ "${#failed[@]}" -gt 0 ]; then
	[ "$keep_work" -eq 1 ] && echo "fuzz: logs and inputs kept in $work"
	echo "fuzz: FAILED: ${failed[*]}"
	exit 1
fi
echo "fuzz: all targets passed"
exit 0
