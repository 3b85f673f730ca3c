#!/bin/sh
# Apache 2.4 mod_proxy_fcgi in front of the library, run from a private
# config in the test's directory: a connection per request, pooled
# connections (enablereuse=on), and a Unix socket.
. "$top_srcdir/tests/servers/lib.sh"
need apache2 curl wrk

modules=/usr/lib/apache2/modules
[ -f $modules/mod_proxy_fcgi.so ] || die "no $modules/mod_proxy_fcgi.so: run .ci/servers-deps"

set -- $(free_ports 127.0.0.1 3)
http_port=$1 plain_port=$2 reuse_port=$3
base=http://127.0.0.1:$http_port

start_app app-plain WEBAPP_NAME=plain WEBAPP_LISTEN=127.0.0.1:$plain_port
plain_pid=$app_pid
start_app app-reuse WEBAPP_NAME=reuse WEBAPP_LISTEN=127.0.0.1:$reuse_port WEBAPP_THREADS=4
reuse_pid=$app_pid
start_app app-unix WEBAPP_NAME=unix WEBAPP_LISTEN=$work/app.sock
unix_pid=$app_pid
wait_listen 127.0.0.1:$plain_port
wait_listen 127.0.0.1:$reuse_port
wait_listen "$work/app.sock"

# Apache will not serve as root: its workers run as www-data.
user=
[ "$(id -u)" -eq 0 ] && user='User www-data\nGroup www-data'
mkdir -p "$work/docroot"
render apache.conf.in "$work/apache.conf" WORK="$work" HTTP_PORT=$http_port \
    PLAIN_PORT=$plain_port REUSE_PORT=$reuse_port MODULES=$modules USER="$user"
apache2 -t -f "$work/apache.conf" >"$work/apache-check.log" 2>&1 ||
    die "apache2 rejects the config: $(cat "$work/apache-check.log")"
apache2 -f "$work/apache.conf" -DFOREGROUND >"$work/apache-stdout.log" 2>&1 &
track $!
wait_listen 127.0.0.1:$http_port

head -c 10240 /dev/urandom >"$work/body10k"
head -c 5242880 /dev/urandom >"$work/body5m"
"$WEBAPP" pattern 5242880 >"$work/pattern5m"

for way in plain reuse unix; do
    r=$work/$way
    fetch "$base/$way/dump?p=1&q=$way" "$r.get" -H "X-Way: $way"
    check "$way: GET answers 200" test "$(status_of "$r.get")" = 200
    check "$way: the right instance answered" has_line "^app=$way " "$r.get"
    check "$way: QUERY_STRING reaches the app" has_line "^query=p=1&q=$way$" "$r.get"
    check "$way: request header as HTTP_X_WAY" has_line "^HTTP_X_WAY=$way$" "$r.get"
    for size in 10k 5m; do
        fetch "$base/$way/echo" "$r.echo$size" --data-binary "@$work/body$size"
        check "$way: POST of $size echoed byte-exact" body_is "$r.echo$size" "$work/body$size"
    done
    fetch "$base/$way/echo" "$r.chunked" --data-binary "@$work/body10k" -H "Transfer-Encoding: chunked"
    check "$way: chunked POST echoed byte-exact" body_is "$r.chunked" "$work/body10k"
    fetch "$base/$way/big?n=5242880" "$r.big"
    check "$way: 5 MB response byte-exact" body_is "$r.big" "$work/pattern5m"
    fetch "$base/$way/redirect" "$r.redir"
    check "$way: Status: 302 becomes the HTTP status" test "$(status_of "$r.redir")" = 302
    check "$way: Location passes through" has_header "$r.redir.h" Location http://example.invalid/moved/here
    fetch "$base/$way/stderr?apache-$way" "$r.err"
done
sleep 0.2
for way in plain reuse unix; do
    check "$way: app stderr reaches Apache's error log" \
        has_line "webapp-stderr-marker apache-$way" "$work/apache-error.log"
done

# enablereuse=on keeps the connection: the same client port twice in a
# row; without it, every request comes on a new connection.
peer() {
    sed -n 's/.* peer=\([^ ]*\)$/\1/p' "$1"
}
fetch "$base/reuse/dump" "$work/r1"
fetch "$base/reuse/dump" "$work/r2"
check "reuse: FCGI_KEEP_CONN set" has_line " keep=1 " "$work/r1"
check "reuse: the connection is reused ($(peer "$work/r1"), $(peer "$work/r2"))" \
    test -n "$(peer "$work/r1")" -a "$(peer "$work/r1")" = "$(peer "$work/r2")"
fetch "$base/plain/dump" "$work/p1"
fetch "$base/plain/dump" "$work/p2"
check "plain: a new connection per request ($(peer "$work/p1"), $(peer "$work/p2"))" \
    test -n "$(peer "$work/p1")" -a "$(peer "$work/p1")" != "$(peer "$work/p2")"

for way in plain reuse unix; do
    run_wrk "$base/$way/dump" 2 16 "$work/wrk-$way.out"
    echo "# wrk apache $way: $wrk_requests requests, $wrk_rps req/s, $wrk_errors errors"
    check "$way: wrk saw requests and no errors" test "$wrk_requests" -gt 0 -a "$wrk_errors" -eq 0
done
for pid in $plain_pid $reuse_pid $unix_pid; do
    check "app $pid survived it all" kill -0 $pid
done
finish
