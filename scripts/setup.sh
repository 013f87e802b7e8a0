#!/usr/bin/env bash
# Installs what sioc's build and tests need on Debian 12, and nothing that is
# already there: Debian packages through apt-get, then the Node packages the
# integration tests use (tests/package-lock.json), the browser client the
# library serves (static/package-lock.json) and playwright-core for the
# browser tests (tests/browser/package-lock.json) through `npm ci`.
# Safe to run again: a second run on a ready machine installs nothing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the build and the tests cannot do without.
required=(
	meson ninja-build pkg-config gcc libc6-dev clang binutils
	libwebsockets-dev libwebsockets-evlib-ev libev-dev libjansson-dev libmsgpack-dev node-llhttp
	# crypt(3) with bcrypt (libxcrypt), for the admin UI's password
	libcrypt-dev
	# TLS in the process (transports/tls.c); the TLS tests make certificates with openssl
	libssl-dev openssl
	# the build-time generator of the client bundle compresses with these
	zlib1g-dev libbrotli-dev
	# the browser tests (tests/browser/) drive /usr/bin/chromium
	chromium
	# the proxy tests (tests/proxy/) run Debian's nginx in front of sioc
	nginx
	# the Redis adapter (cluster/) and its tests: hiredis on libev, a real redis-server
	libhiredis-dev redis-server redis-tools
)
# Nice to have: the sanitizer runtimes for builds with clang (gcc brings its own).
optional=(libclang-rt-14-dev)

# Node.js and npm only when there is no node at all (the machine may have its own).
if ! command -v node >/dev/null 2>&1; then
	required+=(nodejs npm)
fi

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1; then
	as_root=(sudo)
else
	as_root=()
fi

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing_of() {
	local p
	for p in "$@"; do
		is_installed "$p" || printf '%s\n' "$p"
	done
}

mapfile -t missing < <(missing_of "${required[@]}")
mapfile -t missing_optional < <(missing_of "${optional[@]}")

apt_updated=0
apt_update_once() {
	if [ "$apt_updated" -eq 0 ]; then
		echo "setup: apt-get update"
		"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
		apt_updated=1
	fi
}

apt_install() {
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q -o Dpkg::Use-Pty=0 "$@"
}

if [ "${#missing[@]}" -gt 0 ]; then
	apt_update_once
	echo "setup: installing ${missing[*]}"
	apt_install "${missing[@]}"
fi
if [ "${#missing_optional[@]}" -gt 0 ]; then
	apt_update_once
	echo "setup: installing (optional) ${missing_optional[*]}"
	apt_install "${missing_optional[@]}" ||
		echo "setup: could not install ${missing_optional[*]}; clang sanitizer builds will not link" >&2
fi

# Node packages, reinstalled in a folder only when its lockfile changed:
# tests/ holds the clients the integration tests use, static/ the browser
# client bundle that the build compiles into the library, static/admin-ui/
# the Socket.IO Admin UI's built dashboard.
npm_ci_in() {
	local dir="$repo/$1"
	local stamp="$dir/node_modules/.sioc-lock-hash"
	local lock_hash
	lock_hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
		echo "setup: $1/node_modules is up to date"
	else
		echo "setup: npm ci in $1/"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
		printf '%s\n' "$lock_hash" >"$stamp"
	fi
}
npm_ci_in tests
npm_ci_in static
npm_ci_in static/admin-ui # the admin UI that sio_admin_instrument() serves (ui_path)
npm_ci_in tests/browser # playwright-core, which drives the system chromium

echo "setup: done"
