#!/usr/bin/env bash
# Builds sioc with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/ and runs every test. Ends with one line "N passed, N failed"
# (", N skipped" when some were) and exits non-zero when any test failed.
# Extra arguments go to `meson test` (for example: --suite unit).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash scripts/setup.sh

build=build-asan
setup_opts=(-Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug)
if [ -f "$build/meson-private/coredata.dat" ]; then
	meson setup --reconfigure "${setup_opts[@]}" "$build" ||
		meson setup --wipe "${setup_opts[@]}" "$build"
else
	meson setup "${setup_opts[@]}" "$build"
fi
meson compile -C "$build"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$repo/tests/lsan.supp"

testlog="$build/meson-logs/testlog.json"
rm -f "$testlog"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?

if [ ! -f "$testlog" ]; then
	echo "meson test wrote no $testlog" >&2
	exit 1
fi

summary="$(node -e '
// One count per meson test; a node:test file counts its own test cases
// (its "pass N" / "fail N" lines), so a failing case is never hidden.
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
let passed = 0, failed = 0, skipped = 0;
for (const line of lines) {
	if (!line.trim()) continue;
	const t = JSON.parse(line);
	const r = t.result;
	const out = t.stdout || "";
	const p = out.match(/^\u2139 pass (\d+)$/m), f = out.match(/^\u2139 fail (\d+)$/m);
	if (p && f) {
		passed += Number(p[1]);
		failed += Number(f[1]);
		if (r !== "OK" && Number(f[1]) === 0) failed++; /* crashed or leaked */
		continue;
	}
	if (r === "OK" || r === "EXPECTEDFAIL") passed++;
	else if (r === "SKIP") skipped++;
	else failed++;
}
let s = `${passed} passed, ${failed} failed`;
if (skipped > 0) s += `, ${skipped} skipped`;
console.log(s);
' "$testlog")"

echo
echo "$summary"
case "$summary" in
*" 0 failed"*) ;;
*) status=1 ;;
esac
exit "$status"
