#!/bin/sh
# nginx (fastcgi_pass) in front of the library, three ways: a TCP loopback
# port, a Unix socket, and kept connections (fastcgi_keep_conn on with an
# upstream keepalive pool).  Each way gets the same checks through curl,
# then a bounded wrk run that must see no errors.  A fourth, single-threaded
# application behind kept connections shows that an idle kept connection
# does not hold the application.
. "$top_srcdir/tests/servers/lib.sh"
need nginx curl wrk

set -- $(free_ports 127.0.0.1 4)
http_port=$1 tcp_port=$2 keep_port=$3 keep1_port=$4
base=http://127.0.0.1:$http_port

start_app app-tcp WEBAPP_NAME=tcp WEBAPP_LISTEN=127.0.0.1:$tcp_port
tcp_pid=$app_pid
start_app app-unix WEBAPP_NAME=unix WEBAPP_LISTEN=$work/app.sock
unix_pid=$app_pid
start_app app-keep WEBAPP_NAME=keep WEBAPP_LISTEN=127.0.0.1:$keep_port WEBAPP_THREADS=8
keep_pid=$app_pid
start_app app-keep1 WEBAPP_NAME=keep1 WEBAPP_LISTEN=127.0.0.1:$keep1_port
keep1_pid=$app_pid
wait_listen 127.0.0.1:$tcp_port
wait_listen "$work/app.sock"
wait_listen 127.0.0.1:$keep_port
wait_listen 127.0.0.1:$keep1_port
for pid in $tcp_pid $unix_pid $keep_pid $keep1_pid; do
    check "app $pid runs on the libfcgi.so.0 just built" uses_our_lib $pid
done

user=
[ "$(id -u)" -eq 0 ] && user="user nobody nogroup;"
cp "$srv_src/fastcgi_params.in" "$work/fastcgi_params"
render nginx.conf.in "$work/nginx.conf" WORK="$work" USER="$user" \
    HTTP_PORT=$http_port TCP_PORT=$tcp_port KEEP_PORT=$keep_port KEEP1_PORT=$keep1_port
nginx -t -q -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" ||
    die "nginx rejects the config"
nginx -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" \
    >"$work/nginx-stdout.log" 2>&1 &
track $!
wait_listen 127.0.0.1:$http_port

# Request bodies and the expected big response.
: >"$work/body0"
head -c 10240 /dev/urandom >"$work/body10k"
head -c 5242880 /dev/urandom >"$work/body5m"
"$WEBAPP" pattern 5242880 >"$work/pattern5m"

for way in tcp unix keep; do
    url=$base/$way
    r=$work/$way

    fetch "$url/dump?a=1&b=two%20words" "$r.get" -H "X-Test-Header: hello $way"
    check "$way: GET answers 200" test "$(status_of "$r.get")" = 200
    check "$way: the right instance answered" has_line "^app=$way " "$r.get"
    check "$way: QUERY_STRING reaches the app" has_line "^query=a=1&b=two%20words$" "$r.get"
    check "$way: REQUEST_METHOD is GET" has_line "^method=GET$" "$r.get"
    check "$way: request header as HTTP_X_TEST_HEADER" \
        has_line "^HTTP_X_TEST_HEADER=hello $way$" "$r.get"

    for size in 0 10k 5m; do
        fetch "$url/echo" "$r.echo$size" --data-binary "@$work/body$size" \
            -H "Content-Type: application/octet-stream"
        check "$way: POST of $size echoed byte-exact" body_is "$r.echo$size" "$work/body$size"
    done
    for size in 10k 5m; do
        fetch "$url/echo" "$r.chunked$size" --data-binary "@$work/body$size" \
            -H "Transfer-Encoding: chunked" -H "Content-Type: application/octet-stream"
        check "$way: chunked POST of $size echoed byte-exact" \
            body_is "$r.chunked$size" "$work/body$size"
    done

    fetch "$url/big?n=5242880" "$r.big"
    check "$way: 5 MB response arrives byte-exact" body_is "$r.big" "$work/pattern5m"

    fetch "$url/redirect" "$r.redir"
    check "$way: Status: 302 becomes the HTTP status" test "$(status_of "$r.redir")" = 302
    check "$way: Location header passes through" \
        has_header "$r.redir.h" Location http://example.invalid/moved/here

    fetch "$url/status?code=404" "$r.404"
    check "$way: Status: 404 becomes the HTTP status" test "$(status_of "$r.404")" = 404

    fetch "$url/stderr?from-$way" "$r.err"
    check "$way: stderr request still answers 200" test "$(status_of "$r.err")" = 200
done

# nginx logs what the application writes to FCGI_STDERR.
sleep 0.2
for way in tcp unix keep; do
    check "$way: app stderr reaches nginx's error log" \
        has_line "FastCGI sent in stderr: \"webapp-stderr-marker from-$way" "$work/nginx-error.log"
done

# Kept connections: the flag reaches the app and nginx reuses the
# connection (the same client port on the app's side); without keep-conn
# each request has its own connection.
fetch "$base/keep/dump" "$work/k1"
fetch "$base/keep/dump" "$work/k2"
peer1=$(sed -n 's/.* keep=1 peer=\([^ ]*\)$/\1/p' "$work/k1")
peer2=$(sed -n 's/.* keep=1 peer=\([^ ]*\)$/\1/p' "$work/k2")
check "keep: FCGI_KEEP_CONN reaches the app" test -n "$peer1"
check "keep: nginx reuses the kept connection ($peer1, $peer2)" test "$peer1" = "$peer2"
fetch "$base/tcp/dump" "$work/t1"
fetch "$base/tcp/dump" "$work/t2"
peer1=$(sed -n 's/.* keep=0 peer=\([^ ]*\)$/\1/p' "$work/t1")
peer2=$(sed -n 's/.* keep=0 peer=\([^ ]*\)$/\1/p' "$work/t2")
check "tcp: keep-conn off, a connection per request ($peer1, $peer2)" \
    test -n "$peer1" -a -n "$peer2" -a "$peer1" != "$peer2"

# An idle kept connection does not hold the application: a single-threaded
# one serves a second connection while nginx keeps the first.  (With
# libfcgi 2.4.2 the request stays bound to the first connection and the
# second waits for nginx's read timeout.)
fetch "$base/keep1/sleep?ms=300" "$work/slow" --max-time 5 &
slow_pid=$!
sleep 0.1
fetch "$base/keep1/dump?fast" "$work/fast" --max-time 5
fast=$?
wait $slow_pid
slow=$?
check "keep1: a slow and a fast request at once both answered ($slow, $fast)" \
    test $slow -eq 0 -a $fast -eq 0 -a "$(status_of "$work/fast")" = 200
n=0
ok=0
while [ $n -lt 6 ]; do
    fetch "$base/keep1/dump?n=$n" "$work/k1n" --max-time 3 && has_line "^query=n=$n$" "$work/k1n" &&
        ok=$((ok + 1))
    n=$((n + 1))
done
check "keep1: then 6 of 6 requests over the kept connections ($ok)" test $ok -eq 6
run_wrk "$base/keep1/dump" 2 16 "$work/wrk-keep1.out"
echo "# wrk keep1 (one thread): $wrk_requests requests, $wrk_rps req/s, $wrk_errors errors"
check "keep1: wrk saw requests and no errors" test "$wrk_requests" -gt 0 -a "$wrk_errors" -eq 0

# Load: 3 s, 16 connections, each way; no socket errors, only 2xx.
for way in tcp unix keep; do
    run_wrk "$base/$way/dump?load=1" 3 16 "$work/wrk-$way.out"
    echo "# wrk $way: $wrk_requests requests, $wrk_rps req/s, $wrk_errors errors"
    check "$way: wrk ran requests" test "$wrk_requests" -gt 0
    check "$way: wrk saw no errors and no non-2xx" test "$wrk_errors" -eq 0
done

for pid in $tcp_pid $unix_pid $keep_pid $keep1_pid; do
    check "app $pid survived it all" kill -0 $pid
done
finish
