#!/usr/bin/env bash
# Fails when a library file includes a header from a layer above its own.
# The layers, bottom up (a folder may include its own headers and those
# of the layers below it; include/sioc.h is for everyone):
#   0 base/        hash, lists, buffers, timers, ids
#   1 protocol/    pure codecs          static/  the client bundle's data
#   2 http/        HTTP parsing, requests, responses, CORS, static files
#   3 transports/  Engine.IO
#   4 server/      Socket.IO and the wiring
#   5 cluster/     adapters that span processes (Redis), plugged into server/'s seams
#   check_layers.sh [repo root]
set -uo pipefail
repo="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"
declare -A level=([base]=0 [protocol]=1 [static]=1 [http]=2 [transports]=3 [server]=4 [cluster]=5)
bad=0
files=0
for dir in "${!level[@]}"; do
	for f in "$repo/$dir"/*.c "$repo/$dir"/*.h; do
		[ -e "$f" ] || continue
		files=$((files + 1))
		while IFS= read -r line; do
			inc="${line#*\"}"
			inc="${inc%%\"*}"
			top="${inc%%/*}"
			[ "$top" = "$inc" ] && continue   # a bare name: not one of ours
			[ -n "${level[$top]+x}" ] || continue
			if [ "$top" != "$dir" ] && [ "${level[$top]}" -ge "${level[$dir]}" ]; then
				echo "${f#"$repo"/}: includes $inc, from layer $top (${level[$top]}), not below $dir (${level[$dir]})"
				bad=$((bad + 1))
			fi
		done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
	done
done
if [ "$files" -eq 0 ]; then
	echo "check_layers: no source files found under $repo" >&2
	exit 1
fi
if [ "$bad" -gt 0 ]; then
	echo "check_layers: $bad include(s) point up" >&2
	exit 1
fi
echo "check_layers: $files files, every include points down"
