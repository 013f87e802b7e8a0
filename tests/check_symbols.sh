#!/usr/bin/env bash
# Checks that a built libsioc exports only the public API: every dynamic
# symbol it defines is named sio_* (apart from the few that the linker and
# the sanitizer runtimes add), and the API's anchors are there.
# Usage: check_symbols.sh path/to/libsioc.so   (NM=... picks another nm)
set -euo pipefail

lib="${1:?usage: check_symbols.sh LIBRARY}"
nm_prog="${NM:-nm}"

symbols="$("$nm_prog" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)"
if [ -z "$symbols" ]; then
	echo "no dynamic symbols found in $lib" >&2
	exit 1
fi

# Symbols the toolchain may define in any shared library.
toolchain='^(_init|_fini|_edata|_end|__bss_start|_ITM_.*|__gmon_start__|__asan_.*|___asan_.*|__odr_asan.*|__ubsan_.*|__sanitizer_.*|__lsan_.*)$'

bad="$(printf '%s\n' "$symbols" | grep -Ev '^sio_' | grep -Ev "$toolchain" || true)"
status=0
if [ -n "$bad" ]; then
	echo "symbols exported by $lib that are not public API (make them static or hidden):" >&2
	printf '  %s\n' $bad >&2
	status=1
fi

for want in sio_server_create sio_strerror; do
	if ! printf '%s\n' "$symbols" | grep -qx "$want"; then
		echo "$lib does not export $want" >&2
		status=1
	fi
done

if [ "$status" -eq 0 ]; then
	echo "$(printf '%s\n' "$symbols" | grep -c '^sio_') public symbols exported, nothing else"
fi
exit "$status"
