#!/bin/sh
# run.sh: differential test against the reference libfcgi 2.4.2.
#
# The same application answers the same raw requests (diffclient.c)
# three times, and every byte of the answers is compared; the application
# is diffapp.c (FCGX_ calls) and then diffstdio.c (a stdio CGI program
# converted with fcgi_stdio.h):
#
#   ref    diffapp built against the reference headers and library
#   swap   that same binary with our libfcgi.so.0 swapped in underneath
#          (LD_LIBRARY_PATH): old programs must keep working unchanged
#   ours   diffapp built against our headers and library by make
#
# Needs the reference installed (Debian: libfcgi-dev and libfcgi0ldbl).
# Run by `make check` from the top build directory.

set -u

if [ -f ./tests/support/env.sh ]; then
    . ./tests/support/env.sh
fi
: "${top_srcdir:=${srcdir:-.}}"
: "${top_builddir:=.}"
: "${CC:=cc}"

ref_header=/usr/include/fcgiapp.h
ref_lib=$($CC -print-file-name=libfcgi.so.0)
if [ ! -f "$ref_header" ] || [ ! -f "$ref_lib" ]; then
    echo "run.sh: the reference libfcgi is not installed." >&2
    echo "run.sh: apt-get install libfcgi-dev libfcgi0ldbl" >&2
    exit 1
fi

ourlibdir=$top_builddir/libfcgi/.libs
client=$top_builddir/tests/diff/diffclient
for f in "$ourlibdir/libfcgi.so.0" "$top_builddir/tests/diff/diffapp" \
        "$top_builddir/tests/diff/diffstdio" "$client"; do
    if [ ! -e "$f" ]; then
        echo "run.sh: $f is missing (make check builds it)" >&2
        exit 99
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-diff.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# Binaries A: only the reference headers and library, nothing of ours.
for app in diffapp diffstdio; do
    if ! $CC -I/usr/include -o "$tmp/$app-ref" "$top_srcdir/tests/diff/$app.c" \
            "$ref_lib" >"$tmp/cc.log" 2>&1; then
        echo "run.sh: cannot build $app against the reference:" >&2
        cat "$tmp/cc.log" >&2
        exit 99
    fi
done

# The swap must really load our library, or the comparison proves nothing.
loaded=$(LD_LIBRARY_PATH=$ourlibdir ldd "$tmp/diffapp-ref" | awk '$1 == "libfcgi.so.0" { print $3 }')
case $loaded in
    "$ourlibdir"/*) ;;
    *)
        echo "run.sh: with LD_LIBRARY_PATH=$ourlibdir the binary loads '$loaded'" >&2
        exit 99
        ;;
esac

# Under `make check-valgrind` our own build runs under valgrind too.
ours_prefix=
if [ -n "${VALGRIND:-}" ]; then
    ours_prefix="$top_builddir/libtool --mode=execute $VALGRIND -q --error-exitcode=1 --leak-check=full"
fi

failures=0

# run LABEL SCENARIO COUNT COMMAND...: serve COUNT requests, save the answer.
run() {
    label=$1
    scenario=$2
    count=$3
    shift 3
    sock=$tmp/$label-$scenario.sock
    out=$tmp/$label-$scenario.bin

    "$@" "$sock" "$count" 2>"$tmp/$label-$scenario.err" &
    pid=$!
    if ! "$client" "$sock" "${scenario#*-}" "$out"; then
        echo "FAIL: $label/$scenario: the client got no complete answer" >&2
        failures=$((failures + 1))
    fi
    # The application exits once it has served COUNT requests.
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
        echo "FAIL: $label/$scenario: the application did not exit" >&2
        failures=$((failures + 1))
    fi
    wait "$pid"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL: $label/$scenario: the application exited with $status" >&2
        sed 's/^/    /' "$tmp/$label-$scenario.err" >&2
        failures=$((failures + 1))
    fi
}

compare() {
    scenario=$1
    label=$2

    if ! cmp -s "$tmp/ref-$scenario.bin" "$tmp/$label-$scenario.bin"; then
        echo "FAIL: $scenario: $label answered differently from the reference" >&2
        "$client" --dump "$tmp/ref-$scenario.bin" >"$tmp/ref.txt"
        "$client" --dump "$tmp/$label-$scenario.bin" >"$tmp/$label.txt"
        diff -u "$tmp/ref.txt" "$tmp/$label.txt" | sed 's/^/    /' >&2
        failures=$((failures + 1))
    fi
}

for app in diffapp diffstdio; do
    for spec in plain:1 body:1 stderr:1 keepconn:2 authorizer:1; do
        # run and compare set "scenario"; this loop keeps its own name.
        case_=$app-${spec%:*}
        count=${spec#*:}
        run ref "$case_" "$count" env -u LD_LIBRARY_PATH "$tmp/$app-ref"
        run swap "$case_" "$count" env LD_LIBRARY_PATH="$ourlibdir" "$tmp/$app-ref"
        # shellcheck disable=SC2086
        run ours "$case_" "$count" $ours_prefix "$top_builddir/tests/diff/$app"
        if [ -s "$tmp/ref-$case_.bin" ]; then
            compare "$case_" swap
            compare "$case_" ours
        else
            echo "FAIL: $case_: no answer from the reference itself" >&2
            failures=$((failures + 1))
        fi
    done
done

if [ "$failures" -ne 0 ]; then
    echo "run.sh: $failures failure(s)" >&2
    exit 1
fi
echo "run.sh: ours answers byte for byte as the reference does"
exit 0
