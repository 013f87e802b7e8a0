#!/usr/bin/env bash
# Installs sioc from a build folder into a temporary folder (meson install
# --destdir), builds examples/hello.c against nothing but the installed
# header and library, and runs it: it must serve an Engine.IO handshake
# and exit 0 when its time is up.
#
#   install_check.sh BUILD_DIR HELLO_C
#
# Environment: MESON (the meson command), CC (the compiler command),
# SANITIZE (the b_sanitize option of the build: the library then needs the
# sanitizer runtimes in the program too).
set -euo pipefail

build="$1"
hello_src="$2"
read -ra meson_cmd <<<"${MESON:-meson}"
read -ra cc_cmd <<<"${CC:-cc}"

fail() {
	echo "install_check: $*" >&2
	exit 1
}

tmp="$(mktemp -d)"
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

root="$tmp/root"
"${meson_cmd[@]}" install -C "$build" --no-rebuild --quiet --destdir "$root" >"$tmp/install.log" 2>&1 ||
	fail "meson install failed: $(cat "$tmp/install.log")"

mapfile -t headers < <(find "$root" -name '*.h')
[ "${#headers[@]}" -eq 1 ] && [ "$(basename "${headers[0]}")" = sioc.h ] ||
	fail "expected exactly one installed header, sioc.h; got: ${headers[*]:-none}"
lib="$(find "$root" -name libsioc.so | head -n 1)"
[ -n "$lib" ] || fail "no libsioc.so installed"
[ -n "$(find "$root" -name sioc.pc)" ] || fail "no sioc.pc installed"
incdir="$(dirname "${headers[0]}")"
libdir="$(dirname "$lib")"

cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wno-unused-parameter -Werror)
if [ -n "${SANITIZE:-}" ] && [ "$SANITIZE" != none ]; then
	cflags+=("-fsanitize=$SANITIZE")
fi
read -ra jansson <<<"$(pkg-config --cflags --libs jansson)"
"${cc_cmd[@]}" "${cflags[@]}" -I"$incdir" "$hello_src" -o "$tmp/hello" \
	-L"$libdir" -lsioc "${jansson[@]}" || fail "hello.c does not build against the installed files"

export LD_LIBRARY_PATH="$libdir"
# (ldd's output is captured first: with pipefail, `ldd | grep -q` fails
# whenever grep exits before ldd has written everything)
deps="$(ldd "$tmp/hello")"
grep -q "libsioc.so.* => $libdir/" <<<"$deps" ||
	fail "hello does not load the installed libsioc: $(grep sioc <<<"$deps")"

# Port 0: the system picks one; hello prints it and stops after 2 seconds.
"$tmp/hello" 0 2 >"$tmp/out" 2>"$tmp/err" &
pid=$!
port=""
for _ in $(seq 50); do
	port="$(sed -n 's/^listening on port \([0-9][0-9]*\)$/\1/p' "$tmp/out")"
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$port" ] || fail "hello printed no port; stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err")"

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
response="$(timeout 5 cat <&3 || true)"
exec 3<&-
case "$response" in
"HTTP/1.1 200"*'0{"sid":"'*) ;;
*) fail "no Engine.IO handshake from hello: $response" ;;
esac

status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "hello exited with $status; stderr: $(cat "$tmp/err")"
if grep -qE 'Sanitizer|runtime error' "$tmp/err"; then
	fail "sanitizer report from hello: $(cat "$tmp/err")"
fi
echo "install_check: hello built against $incdir and $libdir, served a handshake on port $port"
