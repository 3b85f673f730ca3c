#!/bin/sh
# start.sh: -start and -supervise.  The socket is created with sensible
# permissions, a stale one is replaced, a live one never is; nServers
# copies run with the socket on fd 0 and nothing else of ours; -start
# returns at once, -supervise stays, passes signals on, replaces a server
# that leaves and reports how its servers ended on SIGTERM (supervise.sh
# tests the supervisor further).
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99
S=$tmp/app.sock

# Three copies; the marker descriptor must not reach them.
umask 022
cgi -start -connect "$S" "$APP" 3 7>marker
expect_status "-start, 3 servers" 0 $?
wait_for_apps 3 && pass "3 application processes" || fail "$(app_count) application processes"
[ "$(stat -c %A "$S")" = srw-r--r-- ] && pass "socket mode with umask 022" ||
    fail "socket mode with umask 022: $(stat -c %A "$S")"
for f in "$APP_PIDDIR"/*; do
    pid=${f##*/}
    [ -d "/proc/$pid/fd" ] || continue
    case $(readlink "/proc/$pid/fd/0") in
    socket:*) ;;
    *) fail "fd 0 of $pid is $(readlink "/proc/$pid/fd/0")" ;;
    esac
    [ "$(readlink "/proc/$pid/fd/1")" = /dev/null ] || fail "fd 1 of $pid is not /dev/null"
    [ "$(readlink "/proc/$pid/fd/2")" = /dev/null ] || fail "fd 2 of $pid is not /dev/null"
    for fd in /proc/"$pid"/fd/*; do
        [ "$(readlink "$fd")" = "$tmp/marker" ] && fail "$pid inherited $fd"
    done
done
pass "descriptors of the servers checked"
QUERY_STRING=param=FCGI_ROLE cgi -bind -connect "$S" </dev/null >out
expect_grep "the servers answer" out '^RESPONDER$'

# A live socket is never taken over.
cgi -start -connect "$S" "$APP" </dev/null 2>err
expect_status "-start on a live socket" 98 $?
expect_grep "-start on a live socket message" err "^cgi-fcgi: cannot listen on $S: Address already in use\$"
[ "$(app_count)" -eq 3 ] || fail "servers after the refused -start: $(app_count)"
QUERY_STRING=status=8 cgi -bind -connect "$S" </dev/null >/dev/null
expect_status "the first servers still answer" 8 $?

# A stale one is replaced.
stop_apps
umask 077
cgi -start -connect "$S" "$APP"
expect_status "-start on a stale socket" 0 $?
wait_for_apps 1 || fail "no server after replacing the stale socket"
QUERY_STRING=status=5 cgi -bind -connect "$S" </dev/null >/dev/null
expect_status "the new server answers" 5 $?
[ "$(stat -c %A "$S")" = srw------- ] && pass "socket mode with umask 077" ||
    fail "socket mode with umask 077: $(stat -c %A "$S")"
umask 022
stop_apps

# Not executable: the reference's message, exit 1, no socket left behind.
cgi -start -connect "$tmp/noexec.sock" "$tmp/marker" 2>err
expect_status "-start of a non-executable file" 1 $?
expect_grep "non-executable message" err "^$tmp/marker is not executable\$"
[ -e "$tmp/noexec.sock" ] && fail "a socket was created for a non-executable application"
cgi -connect "$tmp/noexec.sock" /nonexistent/app </dev/null 2>err
expect_status "-connect with a missing application" 1 $?
expect_grep "missing application message" err '^/nonexistent/app is not executable$'

# A path that cannot be created: the errno.
cgi -start -connect "$tmp/no/such/dir/s" "$APP" 2>err
expect_status "-start in a missing directory" 2 $?
expect_grep "missing directory message" err 'cannot listen on'

# -supervise: stays in the foreground with its servers; their output is
# not redirected; SIGTERM is passed on; the socket file is removed.
T=$tmp/sup.sock
cgi -start -supervise -connect "$T" "$APP" 2 2>sup.err &
job=$!
if wait_for_apps 2; then
    pass "-supervise started 2 servers"
    first=$(ls "$APP_PIDDIR" | head -n 1)
    sup=$(awk '$1 == "PPid:" { print $2 }' "/proc/$first/status")
    alive "$sup" || fail "the supervisor is not running"
    [ "$(readlink "/proc/$first/fd/2")" != /dev/null ] && pass "supervised stderr kept" ||
        fail "supervised stderr is /dev/null"
    QUERY_STRING='stderr=x&status=4' cgi -bind -connect "$T" </dev/null >/dev/null 2>/dev/null
    expect_status "a supervised server answers" 4 $?
    # One server leaves; the supervisor starts another in its place.
    pids_before=$(ls "$APP_PIDDIR" | sort | tr '\n' ' ')
    QUERY_STRING=exit cgi -bind -connect "$T" </dev/null >/dev/null
    i=0
    while { [ "$(app_count)" -ne 2 ] ||
        [ "$(ls "$APP_PIDDIR" | sort | tr '\n' ' ')" = "$pids_before" ]; } &&
        [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(app_count)" -eq 2 ] && [ "$(ls "$APP_PIDDIR" | sort | tr '\n' ' ')" != "$pids_before" ] &&
        alive "$sup" && pass "the supervisor replaces a server that left" ||
        fail "after one server left: $(app_count) servers, supervisor alive: $(alive "$sup" && echo yes)"
    kill -TERM "$sup"
    wait "$job"
    expect_status "-supervise after SIGTERM" 0 $?
    [ "$(app_count)" -eq 0 ] && pass "SIGTERM reached the servers" || fail "servers left: $(app_count)"
    [ -e "$T" ] && fail "the supervised socket file is still there" || pass "socket file removed"
else
    fail "-supervise did not start 2 servers"
    kill "$job" 2>/dev/null
fi

# -supervise reports, on SIGTERM, a server's failure as its exit status.
printf '#!/bin/sh\ntrap "exit 3" TERM\nwhile :; do sleep 0.1; done\n' >fails
chmod +x fails
cgi -start -supervise -pidfile fails.pid -connect "$tmp/fails.sock" "$tmp/fails" 2 2>fails.err &
job=$!
i=0
while [ "$(grep -c started fails.err)" -lt 2 ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM "$(cat fails.pid)"
wait "$job"
expect_status "-supervise with servers failing on SIGTERM" 3 $?

finish
