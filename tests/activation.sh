#!/bin/sh
# systemd socket activation: a program that listens on fd 0 serves on the
# socket passed as fd 3 with LISTEN_FDS/LISTEN_PID, with no code change,
# and SIGTERM ends it cleanly (exit 0, every thread out of FCGX_Accept_r).
set -u
b=${top_builddir:-.}
dir=$(mktemp -d) || exit 1
launcher=
cleanup() {
    [ -n "$launcher" ] && kill "$launcher" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "activation: FAIL: $*" >&2; exit 1; }

"$b/tests/support/activate" "$dir/sock" "$b/examples/echo-x" &
launcher=$!
i=0
while [ ! -S "$dir/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$dir/sock" ] || fail "the socket did not appear"

for n in 1 2; do
    out=$(SCRIPT_NAME=/activated REQUEST_METHOD=GET QUERY_STRING=n=$n \
          timeout 10 "$b/cgi-fcgi/cgi-fcgi" -bind -connect "$dir/sock") ||
        fail "request $n failed (exit $?)"
    printf '%s\n' "$out" | grep -q "request number $n" ||
        fail "request $n: unexpected answer: $out"
    printf '%s\n' "$out" | grep -q "QUERY_STRING=n=$n" ||
        fail "request $n: parameters missing: $out"
done

kill -TERM "$launcher"
wait "$launcher"
status=$?
launcher=
[ "$status" -eq 0 ] || fail "the program exited with $status after SIGTERM"
echo "activation: ok"
