#!/usr/bin/env bash
# Installs what is missing, builds sioc in build/ and starts the example
# echo server (port from the first argument, 3000 by default). Ctrl-C stops it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/setup.sh

if [ ! -f build/meson-private/coredata.dat ]; then
	meson setup build
fi
meson compile -C build echo_server

exec build/examples/echo_server "$@"
