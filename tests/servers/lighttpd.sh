#!/bin/sh
# lighttpd mod_fastcgi in front of the library: connecting to a running
# application on a Unix socket, spawning the application itself with
# bin-path, and the Authorizer role ("mode" => "authorizer").
. "$top_srcdir/tests/servers/lib.sh"
need lighttpd curl wrk

http_port=$(free_ports 127.0.0.1 1)
base=http://127.0.0.1:$http_port

start_app app-connect WEBAPP_NAME=connected WEBAPP_LISTEN=$work/app.sock
connect_pid=$app_pid
wait_listen "$work/app.sock"

mkdir -p "$work/docroot/private" "$work/uploads"
echo "the protected file" >"$work/docroot/private/file.txt"
printf 'printf "Content-Type: text/plain\\r\\n\\r\\nuser=%%s\\n" "$AUTH_USER"\n' \
    >"$work/docroot/private/whoami.cgi"
render lighttpd.conf.in "$work/lighttpd.conf" WORK="$work" HTTP_PORT=$http_port WEBAPP="$WEBAPP"
lighttpd -tt -f "$work/lighttpd.conf" >"$work/lighttpd-check.log" 2>&1 ||
    die "lighttpd rejects the config: $(cat "$work/lighttpd-check.log")"
lighttpd -D -f "$work/lighttpd.conf" >"$work/lighttpd-stdout.log" 2>&1 &
lighttpd_pid=$!
track $lighttpd_pid
wait_listen 127.0.0.1:$http_port

head -c 10240 /dev/urandom >"$work/body10k"
head -c 5242880 /dev/urandom >"$work/body5m"
"$WEBAPP" pattern 1048576 >"$work/pattern1m"

for way in connect spawn; do
    r=$work/$way
    fetch "$base/$way/dump?x=1&y=$way" "$r.get" -H "X-Way: $way"
    check "$way: GET answers 200" test "$(status_of "$r.get")" = 200
    check "$way: QUERY_STRING reaches the app" has_line "^query=x=1&y=$way$" "$r.get"
    check "$way: request header as HTTP_X_WAY" has_line "^HTTP_X_WAY=$way$" "$r.get"
    check "$way: role is RESPONDER" has_line "^role=RESPONDER$" "$r.get"
    for size in 10k 5m; do
        fetch "$base/$way/echo" "$r.echo$size" --data-binary "@$work/body$size"
        check "$way: POST of $size echoed byte-exact" body_is "$r.echo$size" "$work/body$size"
    done
    fetch "$base/$way/big?n=1048576" "$r.big"
    check "$way: 1 MB response byte-exact" body_is "$r.big" "$work/pattern1m"
    fetch "$base/$way/redirect" "$r.redir"
    check "$way: Status: 302 with Location" has_header "$r.redir.h" Location http://example.invalid/moved/here
    fetch "$base/$way/stderr?lighttpd-$way" "$r.err"
done
check "connect: served by the process the test started" has_line "^app=connected pid=$connect_pid " "$work/connect.get"
check "spawn: served by a copy lighttpd spawned" has_line "^app=spawned " "$work/spawn.get"
spawned=$(sed -n 's/^app=spawned pid=\([0-9]*\) .*/\1/p' "$work/spawn.get")
check "spawn: the spawned copy runs on the libfcgi.so.0 just built" uses_our_lib "${spawned:-0}"
sleep 0.2
for way in connect spawn; do
    check "$way: app stderr reaches lighttpd's error log" \
        has_line "webapp-stderr-marker lighttpd-$way" "$work/lighttpd-error.log"
done

# Authorizer: no or wrong credentials get the authorizer's 403 and body;
# the right ones get the file behind it.
fetch "$base/private/file.txt" "$work/auth-none"
check "authorizer: no credentials, 403" test "$(status_of "$work/auth-none")" = 403
check "authorizer: the 403 body is the authorizer's" has_line "^denied by authorizer$" "$work/auth-none"
fetch "$base/private/file.txt" "$work/auth-bad" -H "Authorization: Bearer nope"
check "authorizer: wrong credentials, 403" test "$(status_of "$work/auth-bad")" = 403
fetch "$base/private/file.txt" "$work/auth-ok" -H "Authorization: Bearer letmein"
check "authorizer: right credentials, 200" test "$(status_of "$work/auth-ok")" = 200
check "authorizer: then the protected file is served" \
    has_line "^the protected file$" "$work/auth-ok"
fetch "$base/private/whoami.cgi" "$work/auth-var" -H "Authorization: Bearer letmein"
check "authorizer: its Variable-AUTH_USER reaches the next handler" \
    has_line "^user=alice$" "$work/auth-var"

for way in connect spawn; do
    run_wrk "$base/$way/dump" 2 16 "$work/wrk-$way.out"
    echo "# wrk lighttpd $way: $wrk_requests requests, $wrk_rps req/s, $wrk_errors errors"
    check "$way: wrk saw requests and no errors" test "$wrk_requests" -gt 0 -a "$wrk_errors" -eq 0
done

# Stopping lighttpd stops what it spawned (SIGTERM, which the library
# turns into a clean exit from the accept loop).
kill -TERM $lighttpd_pid
i=0
while kill -0 "${spawned:-0}" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
check "spawn: the spawned copy exits with lighttpd" test $i -lt 50
check "connect: the app the test started is still running" kill -0 $connect_pid
finish
