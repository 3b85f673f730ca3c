#!/bin/sh
# examples.sh: every program in examples/ answers real requests.
#
# Each example is started on a Unix socket in a mktemp -d directory
# (FCGI_LISTEN_ADDR), asked with tests/stdio/rawclient (raw records, any
# role) and, when one is available, through cgi-fcgi; then stopped with
# SIGTERM, after which it must exit 0.  examples/echo also runs as plain
# CGI.  Every wait is bounded.  Under `make check-valgrind` the examples
# run under valgrind.
#
# Run by `make check` from the top build directory.
set -u

if [ -f ./tests/support/env.sh ]; then
    . ./tests/support/env.sh
fi
: "${top_builddir:=.}"
b=$top_builddir
client=$b/tests/stdio/rawclient

limit=10
prefix=
if [ -n "${VALGRIND:-}" ]; then
    limit=100
    prefix="$b/libtool --mode=execute $VALGRIND -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
    if [ -f "$top_srcdir/tests/valgrind.supp" ]; then
        prefix="$prefix --suppressions=$top_srcdir/tests/valgrind.supp"
    fi
fi

for prog in echo echo-x echo-cpp threaded authorizer filter; do
    if [ ! -x "$b/examples/$prog" ]; then
        echo "examples.sh: $b/examples/$prog is not built" >&2
        exit 99
    fi
done
[ -x "$client" ] || { echo "examples.sh: $client is not built" >&2; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-examples.XXXXXX") || exit 99
pids=
cleanup() {
    for p in $pids; do
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# start NAME [VAR=VALUE...]: serve examples/NAME on $tmp/NAME.sock.
start() {
    name=$1
    shift
    rm -f "$tmp/$name.sock"
    env FCGI_LISTEN_ADDR="$tmp/$name.sock" "$@" $prefix "$b/examples/$name" \
        2>"$tmp/$name.log" &
    pid=$!
    pids="$pids $pid"
    eval "pid_$(echo "$name" | tr -c 'a-z\n' _)=$pid"
    tries=0
    while [ ! -S "$tmp/$name.sock" ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt $((limit * 10)) ] || ! kill -0 "$pid" 2>/dev/null; then
            fail "$name did not start listening"
            cat "$tmp/$name.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

# stop NAME: SIGTERM, then the example must exit 0 within the limit.
stop() {
    name=$1
    eval "pid=\$pid_$(echo "$name" | tr -c 'a-z\n' _)"
    kill -TERM "$pid" 2>/dev/null
    tries=0
    while kill -0 "$pid" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt $((limit * 10)) ]; then
            kill -KILL "$pid" 2>/dev/null
            fail "$name did not exit after SIGTERM"
            break
        fi
        sleep 0.1
    done
    wait "$pid"
    status=$?
    [ "$status" -eq 0 ] || { fail "$name exited with status $status"; cat "$tmp/$name.log" >&2; }
}

# ask NAME OUT [rawclient options and NAME=VALUE...]: one request.
ask() {
    name=$1
    out=$2
    shift 2
    if ! timeout $((limit * 2)) "$client" "$@" >"$tmp/$out" 2>"$tmp/$out.err"; then
        fail "$name: request $out got no complete answer"
        cat "$tmp/$out.err" >&2
        return 1
    fi
}

# has FILE TEXT: FILE contains the line TEXT (fixed string, CR ignored).
has() {
    if ! tr -d '\r' <"$tmp/$1" | grep -qxF -- "$2"; then
        fail "$1 lacks the line '$2'"
        sed -n '1,20p' "$tmp/$1" | tr -d '\r' | sed 's/^/    | /' >&2
        return 1
    fi
}

# ends_with FILE EXPECTED_FILE: the last bytes of FILE are EXPECTED_FILE's.
ends_with() {
    size=$(wc -c <"$tmp/$2")
    if ! tail -c "$size" "$tmp/$1" | cmp -s - "$tmp/$2"; then
        fail "$1 does not end with the bytes of $2"
        return 1
    fi
}

printf 'hello body' >"$tmp/small"
head -c 70000 /dev/urandom >"$tmp/binary"

# ---- echo (fcgi_stdio), as FastCGI ----
if start echo; then
    s=$tmp/echo.sock
    ask echo echo1 -i "$tmp/small" "$s" REQUEST_METHOD=POST QUERY_STRING=x=1 CONTENT_LENGTH=10 &&
        has echo1 "Content-type: text/plain" &&
        has echo1 "QUERY_STRING=x=1" &&
        has echo1 "FCGI_ROLE=RESPONDER" &&
        has echo1 "Body (10 bytes):" &&
        ends_with echo1 small &&
        grep -q "^echo: request number 1," "$tmp/echo1" || fail "echo: first answer"
    ask echo echo2 -i "$tmp/binary" "$s" REQUEST_METHOD=POST CONTENT_LENGTH=70000 &&
        has echo2 "Body (70000 bytes):" &&
        ends_with echo2 binary &&
        grep -q "^echo: request number 2," "$tmp/echo2" || fail "echo: binary answer"
    # The parameters replace the process environment for the request.
    grep -q "^FCGI_LISTEN_ADDR=" "$tmp/echo2" && fail "echo: the process environment leaked into a request"
    # A real client, when there is one: ours, else the reference's.
    cgi_fcgi=$b/cgi-fcgi/cgi-fcgi
    [ -x "$cgi_fcgi" ] || cgi_fcgi=$(command -v cgi-fcgi || true)
    if [ -n "$cgi_fcgi" ]; then
        if printf 'hello body' | env -i REQUEST_METHOD=POST QUERY_STRING=via=cgi-fcgi \
               CONTENT_LENGTH=10 timeout $((limit * 2)) "$cgi_fcgi" -bind -connect "$s" \
               >"$tmp/echo3" 2>"$tmp/echo3.err"; then
            has echo3 "QUERY_STRING=via=cgi-fcgi" && ends_with echo3 small
        else
            fail "echo: $cgi_fcgi -bind -connect failed"
            cat "$tmp/echo3.err" >&2
        fi
    fi
    stop echo
fi

# ---- echo, as CGI: stdin is a file, not a listening socket ----
if REQUEST_METHOD=POST QUERY_STRING=cgi=1 CONTENT_LENGTH=10 \
       timeout $((limit * 2)) $prefix "$b/examples/echo" <"$tmp/small" >"$tmp/cgi" 2>"$tmp/cgi.err"; then
    has cgi "Content-type: text/plain" &&
        has cgi "QUERY_STRING=cgi=1" &&
        has cgi "REQUEST_METHOD=POST" &&
        has cgi "Body (10 bytes):" &&
        ends_with cgi small
else
    fail "echo as CGI exited with status $?"
    cat "$tmp/cgi.err" >&2
fi

# ---- echo-x (FCGX_) ----
if start echo-x; then
    ask echo-x x1 -i "$tmp/binary" "$tmp/echo-x.sock" REQUEST_METHOD=PUT CONTENT_LENGTH=70000 &&
        has x1 "REQUEST_METHOD=PUT" &&
        has x1 "Body (70000 bytes):" &&
        ends_with x1 binary &&
        grep -q "^echo-x: request number 1," "$tmp/x1" || fail "echo-x: answer"
    stop echo-x
fi

# ---- echo-cpp (iostreams): the body, byte for byte ----
if start echo-cpp; then
    { cat "$tmp/binary"; printf '\n(70000 bytes)\n'; } >"$tmp/cpp.want"
    ask echo-cpp cpp1 -i "$tmp/binary" "$tmp/echo-cpp.sock" REQUEST_METHOD=POST CONTENT_LENGTH=70000 &&
        has cpp1 "REQUEST_METHOD=POST" &&
        ends_with cpp1 cpp.want &&
        grep -q "^echo-cpp: request number 1," "$tmp/cpp1" || fail "echo-cpp: answer"
    ask echo-cpp cpp2 "$tmp/echo-cpp.sock" REQUEST_METHOD=GET &&
        has cpp2 "(0 bytes)" || fail "echo-cpp: empty body"
    stop echo-cpp
fi

# ---- threaded: concurrent requests, served by more than one thread ----
if start threaded FCGI_THREADS=4; then
    cpids=
    for i in 1 2 3 4; do
        timeout $((limit * 2)) "$client" "$tmp/threaded.sock" QUERY_STRING=sleep=300 \
            >"$tmp/t$i" 2>"$tmp/t$i.err" &
        cpids="$cpids $!"
    done
    i=0
    for p in $cpids; do
        i=$((i + 1))
        wait "$p" || fail "threaded: request $i got no complete answer"
    done
    threads=$(cat "$tmp"/t1 "$tmp"/t2 "$tmp"/t3 "$tmp"/t4 | sed -n 's/^thread \([0-9]*\),.*/\1/p' | sort -u | wc -l)
    answers=$(cat "$tmp"/t1 "$tmp"/t2 "$tmp"/t3 "$tmp"/t4 | grep -c '^thread ')
    [ "$answers" -eq 4 ] || fail "threaded: $answers answers of 4"
    [ "$threads" -ge 2 ] || fail "threaded: four slow requests all served by one thread"
    stop threaded
fi

# ---- authorizer ----
if start authorizer; then
    s=$tmp/authorizer.sock
    good=$(printf 'alice:secret' | base64)
    bad=$(printf 'alice:guess' | base64)
    ask authorizer a1 -r authorizer "$s" "HTTP_AUTHORIZATION=Basic $good" &&
        has a1 "Status: 200 OK" && has a1 "Variable-AUTH_USER: alice"
    ask authorizer a2 -r authorizer "$s" "HTTP_AUTHORIZATION=Basic $bad" &&
        has a2 "Status: 403 Forbidden"
    ! grep -q "Variable-AUTH_USER" "$tmp/a2" || fail "authorizer: a wrong password passed"
    ask authorizer a3 -r authorizer "$s" QUERY_STRING=x=1\&auth=ok &&
        has a3 "Status: 200 OK" && has a3 "Variable-AUTH_USER: guest"
    ask authorizer a4 -r authorizer "$s" QUERY_STRING=auth=nope &&
        has a4 "Status: 403 Forbidden"
    ask authorizer a5 "$s" QUERY_STRING=auth=ok &&
        has a5 "Status: 500 Internal Server Error"
    stop authorizer
fi

# ---- filter ----
if start filter; then
    printf 'abc' >"$tmp/fbody"
    printf 'hello filter\n\001\000end' >"$tmp/fdata"
    printf 'HELLO FILTER\n\001\000END' >"$tmp/fwant"
    ask filter f1 -r filter -i "$tmp/fbody" -d "$tmp/fdata" "$tmp/filter.sock" \
        CONTENT_LENGTH=3 FCGI_DATA_LENGTH=18 &&
        has f1 "X-Stdin-Length: 3" && ends_with f1 fwant
    ask filter f2 "$tmp/filter.sock" &&
        has f2 "Status: 500 Internal Server Error"
    stop filter
fi

if [ "$failures" -ne 0 ]; then
    echo "examples.sh: $failures failure(s)" >&2
    exit 1
fi
exit 0
