#!/bin/sh
# HAProxy fcgi-app in front of the library: "option get-values" (HAProxy
# sends FCGI_GET_VALUES on its own before the first request on each
# connection and waits for the answer, which libfcgi 2.4.2 never gave) and
# "option keep-conn" (connections kept and reused).
. "$top_srcdir/tests/servers/lib.sh"
need haproxy curl wrk

set -- $(free_ports 127.0.0.1 2)
http_port=$1 app_port=$2
base=http://127.0.0.1:$http_port

start_app app WEBAPP_NAME=behind-haproxy WEBAPP_LISTEN=127.0.0.1:$app_port WEBAPP_THREADS=4
app_pid=$app_pid
wait_listen 127.0.0.1:$app_port
check "app runs on the libfcgi.so.0 just built" uses_our_lib $app_pid

render haproxy.cfg.in "$work/haproxy.cfg" WORK="$work" HTTP_PORT=$http_port APP_PORT=$app_port
haproxy -c -q -f "$work/haproxy.cfg" >"$work/haproxy-check.log" 2>&1 ||
    die "haproxy rejects the config: $(cat "$work/haproxy-check.log")"
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
track $!
wait_listen 127.0.0.1:$http_port

head -c 10240 /dev/urandom >"$work/body10k"
head -c 5242880 /dev/urandom >"$work/body5m"
"$WEBAPP" pattern 5242880 >"$work/pattern5m"
r=$work/h

fetch "$base/dump?k=v&w=haproxy" "$r.get" -H "X-Through: haproxy"
check "GET answers 200 (GET_VALUES was answered)" test "$(status_of "$r.get")" = 200
check "QUERY_STRING reaches the app" has_line "^query=k=v&w=haproxy$" "$r.get"
check "request header as HTTP_X_THROUGH" has_line "^HTTP_X_THROUGH=haproxy$" "$r.get"
check "FCGI_KEEP_CONN reaches the app" has_line " keep=1 " "$r.get"
for size in 10k 5m; do
    fetch "$base/echo" "$r.echo$size" --data-binary "@$work/body$size"
    check "POST of $size echoed byte-exact" body_is "$r.echo$size" "$work/body$size"
done
fetch "$base/echo" "$r.chunked" --data-binary "@$work/body10k" -H "Transfer-Encoding: chunked"
check "chunked POST echoed byte-exact" body_is "$r.chunked" "$work/body10k"
fetch "$base/big?n=5242880" "$r.big"
check "5 MB response byte-exact" body_is "$r.big" "$work/pattern5m"
fetch "$base/redirect" "$r.redir"
check "Status: 302 becomes the HTTP status" test "$(status_of "$r.redir")" = 302
check "Location passes through" has_header "$r.redir.h" Location http://example.invalid/moved/here
fetch "$base/stderr?via-haproxy" "$r.err"
check "stderr request answers 200" test "$(status_of "$r.err")" = 200
sleep 0.2
check "app stderr reaches HAProxy's log" has_line "webapp-stderr-marker via-haproxy" "$work/haproxy.log"

peer() {
    sed -n 's/.* peer=\([^ ]*\)$/\1/p' "$1"
}
fetch "$base/dump" "$work/k1"
fetch "$base/dump" "$work/k2"
check "the kept connection is reused ($(peer "$work/k1"), $(peer "$work/k2"))" \
    test -n "$(peer "$work/k1")" -a "$(peer "$work/k1")" = "$(peer "$work/k2")"

run_wrk "$base/dump" 2 16 "$work/wrk.out"
echo "# wrk haproxy: $wrk_requests requests, $wrk_rps req/s, $wrk_errors errors"
check "wrk saw requests and no errors" test "$wrk_requests" -gt 0 -a "$wrk_errors" -eq 0
check "app survived it all" kill -0 $app_pid
finish
