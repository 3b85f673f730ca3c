#!/bin/sh
# Debian's cgi-fcgi, a binary built against libfcgi 2.4.2 that drives the
# OS_ layer (OS_LibInit, OS_CreateLocalIpcFd, OS_SpawnChild,
# OS_FcgiConnect, OS_AsyncRead/ReadStdin/Write, OS_DoIo, OS_Close, ...) and
# FCGX_CreateWriter, runs on our libfcgi.so.0 unchanged: it starts
# examples/echo-x on a socket and bridges requests (a 300 KB body among
# them) exactly as it does on the reference library.
set -u
b=${top_builddir:-.}
ref_tool=/usr/bin/cgi-fcgi
if [ ! -x "$ref_tool" ]; then
    echo "cgi-fcgi-swap: $ref_tool missing: apt-get install libfcgi-bin" >&2
    exit 1
fi
ourlib=$b/libfcgi/.libs
app=$b/examples/.libs/echo-x
[ -x "$app" ] || app=$b/examples/echo-x
tmp=$(mktemp -d) || exit 1
# The apps that -start detaches carry FCGI_SWAP_TEST=$tmp in their
# environment: that is how this test finds them, and only them.
stop_apps() {
    for d in /proc/[0-9]*; do
        { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qx "FCGI_SWAP_TEST=$tmp" &&
            kill "${d#/proc/}" 2>/dev/null
    done
}
cleanup() {
    stop_apps
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "cgi-fcgi-swap: FAIL: $*" >&2; exit 1; }

head -c 300000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 300000 >"$tmp/body"

# serve LABEL LIBDIR: start the app with the tool, run three requests.
serve() {
    label=$1
    libdir=$2
    sock=$tmp/$label.sock
    FCGI_SWAP_TEST=$tmp LD_LIBRARY_PATH=$libdir timeout 10 "$ref_tool" -start -connect "$sock" \
        "$app" 1 || fail "$label: -start exited with $?"
    i=0
    while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    out=$tmp/$label.out
    : >"$out"
    for q in a=1 b=2; do
        env -i PATH="$PATH" LD_LIBRARY_PATH="$libdir" SCRIPT_NAME=/swap \
            REQUEST_METHOD=GET QUERY_STRING=$q \
            timeout 10 "$ref_tool" -bind -connect "$sock" </dev/null >>"$out" ||
            fail "$label: GET $q exited with $?"
    done
    env -i PATH="$PATH" LD_LIBRARY_PATH="$libdir" SCRIPT_NAME=/swap \
        REQUEST_METHOD=POST CONTENT_LENGTH=300000 \
        timeout 20 "$ref_tool" -bind -connect "$sock" <"$tmp/body" >>"$out" ||
        fail "$label: POST exited with $?"
    stop_apps
    # Process ids and the library path differ from run to run.
    sed -e 's/, process [0-9]*$/, process N/' -e 's/^LD_LIBRARY_PATH=.*/LD_LIBRARY_PATH=/' \
        "$out" >"$out.cmp"
}

loaded=$(LD_LIBRARY_PATH=$ourlib ldd "$ref_tool" | awk '$1 == "libfcgi.so.0" { print $3 }')
case $loaded in
    "$ourlib"/*) ;;
    *) fail "with LD_LIBRARY_PATH=$ourlib cgi-fcgi loads '$loaded'" ;;
esac

serve ref ""
serve ours "$ourlib"
grep -q "request number 3" "$tmp/ours.out.cmp" || fail "ours: three requests not served by one process"
grep -q "Body (300000 bytes)" "$tmp/ours.out.cmp" || fail "ours: the body did not arrive"
if ! cmp -s "$tmp/ref.out.cmp" "$tmp/ours.out.cmp"; then
    diff "$tmp/ref.out.cmp" "$tmp/ours.out.cmp" | head -20 >&2
    fail "the answers differ between the reference library and ours"
fi
echo "cgi-fcgi-swap: ok"
