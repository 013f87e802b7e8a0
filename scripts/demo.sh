#!/usr/bin/env bash
# Installs what is missing, builds sioc in build/ and starts the chat-room
# demo (examples/chat): port from the first argument, 3000 by default. It
# prints the URL to open in a browser. Ctrl-C stops it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/setup.sh

if [ -f build/meson-private/coredata.dat ]; then
	# a build/ made before examples/chat existed does not know the target yet
	meson setup --reconfigure build >/dev/null
else
	meson setup build
fi
meson compile -C build chat_server

# The server prints the URL to open.
exec build/examples/chat/chat_server "${1:-3000}" "$repo/examples/chat/public"
