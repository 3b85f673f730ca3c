#!/bin/sh
# errors.sh: failures a health check must tell apart.  A refused
# connection exits 111 (ECONNREFUSED), a missing socket path 2 (ENOENT), as
# the reference; a crash mid-response exits 253 with a message; -timeout
# exits 124 with a message, however the application stalls.
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99
S=$tmp/app.sock

# Missing socket path.
cgi -bind -connect "$tmp/missing.sock" </dev/null >out 2>err
expect_status "missing socket path" 2 $?
expect_grep "missing socket path message" err "^Could not connect to $tmp/missing.sock\$"
[ -s out ] && fail "missing socket path wrote to stdout"

# A socket file nobody listens on any more.
cgi -start -connect "$S" "$APP"
wait_for_apps 1 || fail "the application did not start"
stop_apps
cgi -bind -connect "$S" </dev/null >out 2>err
expect_status "refused (stale socket file)" 111 $?
expect_grep "refused message" err "^Could not connect to $S\$"

# A TCP port nobody listens on: take a port from a running app, stop it.
if port=$(start_tcp_app 127.0.0.1); then
    stop_apps
    cgi -bind -connect "127.0.0.1:$port" </dev/null >out 2>err
    expect_status "refused over TCP" 111 $?
    expect_grep "refused over TCP message" err "^Could not connect to 127.0.0.1:$port\$"
else
    fail "-start on 127.0.0.1"
fi

# A crash in the middle of a response.
cgi -start -connect "$S" "$APP"
wait_for_apps 1 || fail "the application did not start"
QUERY_STRING=crash cgi -bind -connect "$S" </dev/null >out 2>err
expect_status "application crash" 253 $?
expect_grep "crash message" err 'closed the connection before the end of the response'
expect_grep "output before the crash is passed on" out '^partial response$'
stop_apps

# -timeout: an application that answers too slowly.  Three copies, so that
# the request left sleeping does not hold up the next ones.
cgi -start -connect "$S" "$APP" 3
wait_for_apps 3 || fail "the application did not start"
start=$(date +%s)
QUERY_STRING=sleep=$((4000 * slow)) cgi -timeout $((1 * slow)) -bind -connect "$S" </dev/null >out 2>err
rc=$?
elapsed=$(($(date +%s) - start))
expect_status "slow application" 124 "$rc"
expect_grep "timeout message" err "^cgi-fcgi: timed out after $slow s waiting for the application\$"
[ "$elapsed" -lt $((4 * slow)) ] || fail "the timeout took ${elapsed}s"
# Fractions of seconds; the same request without -timeout waits for it.
QUERY_STRING=sleep=1000 cgi -timeout 0.25 -bind -connect "$S" </dev/null >/dev/null 2>err
expect_status "-timeout 0.25" 124 $?
expect_grep "fractional timeout message" err 'timed out after 0.250 s'
QUERY_STRING='sleep=300&status=6' cgi -timeout 20 -bind -connect "$S" </dev/null >/dev/null
expect_status "a timeout that does not expire" 6 $?
QUERY_STRING='sleep=300&status=6' cgi -bind -connect "$S" </dev/null >/dev/null
expect_status "no timeout" 6 $?
stop_apps

# -timeout: an application that never accepts the connection (the kernel
# completes it, nobody reads) -- a hung php-fpm, in effect.
printf '#!/bin/sh\necho $$ >%s/stuck.pid\nexec sleep 30\n' "$tmp" >stuck
chmod +x stuck
cgi -start -connect "$tmp/stuck.sock" "$tmp/stuck"
expect_status "-start of a stuck application" 0 $?
i=0
while [ ! -s stuck.pid ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
helper_pids="$helper_pids $(cat stuck.pid)"
QUERY_STRING= cgi -timeout $((1 * slow)) -bind -connect "$tmp/stuck.sock" </dev/null >out 2>err
expect_status "application that never accepts" 124 $?
expect_grep "never accepts message" err 'timed out after'

# -timeout with stdin that never ends: the deadline covers the body too.
mkfifo stall
sleep 60 >stall &
helper_pids="$helper_pids $!"
CONTENT_LENGTH=100 QUERY_STRING=body \
    cgi -timeout $((1 * slow)) -connect "$S" "$APP" <stall >out 2>err
expect_status "stalled request body" 124 $?
stop_apps

finish
