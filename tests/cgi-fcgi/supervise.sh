#!/bin/sh
# supervise.sh: -start -supervise as a supervisor.  A worker killed with
# SIGKILL is restarted; one that exits 0 is restarted without back-off;
# a crash loop backs off; SIGHUP replaces every worker while requests keep
# succeeding; SIGTERM lets an in-flight request finish, then exits 0 and
# removes the socket and -pidfile files; NOTIFY_SOCKET (a path or an
# abstract name) receives READY=1.  -recycle: recycle.sh.
. "$(dirname "$0")/lib.sh"

NOTIFY_RECV=$top_builddir/tests/cgi-fcgi/notify-recv
if [ ! -x "$NOTIFY_RECV" ]; then
    echo "$0: $NOTIFY_RECV is missing (make check builds it)" >&2
    exit 99
fi
NOTIFY_RECV=$(cd "$(dirname "$NOTIFY_RECV")" && pwd)/notify-recv

cd "$tmp" || exit 99
S=$tmp/sup.sock
P=$tmp/sup.pid

# live_apps: the pids of the app copies alive, sorted, on one line.
live_apps() {
    for f in "$APP_PIDDIR"/*; do
        [ -e "$f" ] && alive "${f##*/}" && echo "${f##*/}"
    done | sort -n | tr '\n' ' '
}

# shares_none "A B" "C D": no pid of the first list is in the second.
shares_none() {
    for p in $1; do
        case " $2 " in *" $p "*) return 1 ;; esac
    done
    return 0
}

ask() {
    QUERY_STRING=${1:-param=FCGI_ROLE} cgi -bind -connect "$S" </dev/null 2>/dev/null
}

# -pidfile needs -supervise.
cgi -start -pidfile "$P" -connect "$S" "$APP" 2>err
expect_status "-pidfile without -supervise" 1 $?
expect_grep "-pidfile without -supervise message" err '^-pidfile needs -start -supervise$'
[ -e "$P" ] && fail "pid file written by a rejected command" || pass "no pid file"

cgi -start -supervise -pidfile "$P" -connect "$S" "$APP" 2 2>sup.err &
job=$!
if ! wait_until 10 test -s "$P" || ! wait_for_apps 2; then
    fail "the supervisor did not start 2 workers"
    cat sup.err >&2
    kill "$job" 2>/dev/null
    finish
fi
sup=$(cat "$P")
alive "$sup" && pass "-pidfile holds a live pid" || fail "-pidfile holds $sup"
first=$(ls "$APP_PIDDIR" | head -n 1)
[ "$(awk '$1 == "PPid:" { print $2 }' "/proc/$first/status")" = "$sup" ] &&
    pass "the workers are children of the pid in -pidfile" || fail "worker's parent is not $sup"
expect_grep "start logged" sup.err "^cgi-fcgi: worker $first started\$"

# SIGKILL: both workers are restarted, so the new ones answer.
before=$(live_apps)
# shellcheck disable=SC2086 # a list of pids
kill -KILL $before
replaced() {
    now=$(live_apps)
    [ "$(echo $now | wc -w)" -eq 2 ] && shares_none "$before" "$now"
}
if wait_until 10 replaced; then
    pass "workers killed with SIGKILL are restarted"
else
    fail "after SIGKILL of $before: workers $(live_apps)"
fi
replaced_one() {
    now=$(live_apps)
    [ "$(echo $now | wc -w)" -eq 2 ] && [ "$now" != "$before" ]
}
victim=${before%% *}
expect_grep "restart logged" sup.err \
    "^cgi-fcgi: worker $victim was killed by signal 9 (SIGKILL), restarting in [0-9]* ms\$"
expect_grep "first restart after 100 ms" sup.err 'restarting in 100 ms$'
before=$(live_apps)
ask 'param=FCGI_ROLE&exit' >out
expect_grep "a restarted worker answers" out '^RESPONDER$'
# The exit above makes whichever worker answered leave: it is restarted too.
wait_until 10 replaced_one && pass "a worker that exits is restarted" ||
    fail "after a worker exited: workers $(live_apps), before $before"
# Status 0 is no crash: no back-off (though this worker, just restarted
# itself, may wait out its first 100 ms: recycle.sh).
expect_grep "a worker that exits 0 is restarted without back-off" sup.err \
    '^cgi-fcgi: worker [0-9]* exited with status 0, restarting\( in [1-9][0-9]\{0,1\} ms\)\{0,1\}$'
ask >out
expect_grep "the workers answer after restarts" out '^RESPONDER$'

# SIGHUP: every worker is replaced while requests keep coming.
before=$(live_apps)
: >ok.count
: >failed.count
(
    while [ ! -e stop.loop ]; do
        QUERY_STRING=param=FCGI_ROLE cgi -bind -connect "$S" </dev/null >loop.out 2>loop.err
        rc=$?
        if [ "$rc" -eq 0 ] && grep -q '^RESPONDER$' loop.out; then
            echo x >>ok.count
        else
            echo "exit $rc: $(cat loop.out loop.err | head -3)" >>failed.count
        fi
    done
) &
loop=$!
helper_pids="$helper_pids $loop"
sleep 0.3
kill -HUP "$sup"
rolled() {
    grep -q '^cgi-fcgi: all workers replaced$' sup.err || return 1
    now=$(live_apps)
    [ "$(echo $now | wc -w)" -eq 2 ] && shares_none "$before" "$now"
}
if wait_until 20 rolled; then
    pass "SIGHUP replaced every worker"
else
    fail "after SIGHUP: workers $(live_apps), before $before"
fi
sleep 0.3
touch stop.loop
wait "$loop"
oks=$(wc -l <ok.count)
# Every request succeeds: none is refused, and a stopping worker still
# serves a request that reached it.
fails=$(wc -l <failed.count)
[ "$fails" -eq 0 ] && [ "$oks" -gt 0 ] && pass "requests during SIGHUP: $oks ok, none refused or failed" ||
    fail "requests during SIGHUP: $oks ok, $fails failed: $(head -3 failed.count)"
expect_grep "SIGHUP logged" sup.err '^cgi-fcgi: SIGHUP received, replacing 2 workers one by one$'
expect_grep "replacement logged" sup.err '^cgi-fcgi: worker [0-9]* started to replace worker [0-9]*, stopping it$'
alive "$sup" && pass "the supervisor stays after SIGHUP" || fail "the supervisor left after SIGHUP"

# SIGTERM: the in-flight request completes, then the supervisor exits 0.
# (The request has reached a worker after a second, or four under valgrind.)
QUERY_STRING="sleep=$((2000 * slow))&param=FCGI_ROLE" cgi -bind -connect "$S" \
    </dev/null >slow.out 2>slow.err &
slowjob=$!
sleep "$slow"
kill -TERM "$sup"
wait "$slowjob"
expect_status "the slow request during SIGTERM" 0 $?
expect_grep "the slow request's response" slow.out '^RESPONDER$'
wait "$job"
expect_status "-supervise after SIGTERM" 0 $?
expect_grep "SIGTERM logged" sup.err '^cgi-fcgi: SIGTERM received, stopping 2 workers$'
expect_grep "exit logged" sup.err '^cgi-fcgi: all workers stopped, exiting with status 0$'
[ "$(app_count)" -eq 0 ] && pass "no worker left" || fail "workers left: $(live_apps)"
[ -e "$S" ] && fail "the socket file is still there" || pass "socket file removed"
[ -e "$P" ] && fail "the pid file is still there" || pass "pid file removed"

# A crash loop backs off: 100, 200, 400, 800 ms... between restarts.
printf '#!/bin/sh\nexit 3\n' >fails
chmod +x fails
cgi -start -supervise -pidfile "$P" -connect "$tmp/fails.sock" "$tmp/fails" 2>fails.err &
job=$!
sleep 2.2
if [ -s "$P" ]; then
    kill -TERM "$(cat "$P")"
else
    fail "crash loop: no pid file"
    kill -TERM "$job"
fi
wait "$job"
rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] && pass "crash loop stopped by SIGTERM: exit $rc" ||
    fail "crash loop stopped by SIGTERM: exit $rc"
n=$(grep -c 'exited with status 3, restarting in' fails.err)
[ "$n" -ge 2 ] && [ "$n" -lt 10 ] && pass "crash loop: $n restarts in 2 s" ||
    fail "crash loop: $n restarts in 2 s"
expect_grep "back-off doubles" fails.err 'exited with status 3, restarting in 200 ms$'
expect_grep "back-off doubles again" fails.err 'exited with status 3, restarting in 400 ms$'
[ -e "$tmp/fails.sock" ] && fail "crash loop: socket file left" || pass "crash loop: socket file removed"

# NOTIFY_SOCKET, a path and an abstract name: READY=1 once workers run,
# and the workers do not inherit the variable.
for name in "$tmp/notify.sock" "@cgi-fcgi-test-$$-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"; do
    rm -f "$tmp/notify.out"
    timeout 30 "$NOTIFY_RECV" "$name" $((10 * slow)) >notify.out &
    recv=$!
    helper_pids="$helper_pids $recv"
    wait_until 10 grep -qs '^bound$' notify.out || fail "notify-recv did not bind $name"
    NOTIFY_SOCKET=$name cgi -start -supervise -connect "$S" "$APP" 1 2>notify.err &
    job=$!
    wait "$recv"
    expect_status "NOTIFY_SOCKET=$name received READY=1" 0 $?
    expect_grep "NOTIFY_SOCKET=$name datagram" notify.out '^READY=1$'
    if wait_for_apps 1; then
        w=$(live_apps)
        w=${w%% *}
        tr '\0' '\n' <"/proc/$w/environ" | grep -q '^NOTIFY_SOCKET=' &&
            fail "the worker inherited NOTIFY_SOCKET" || pass "the worker has no NOTIFY_SOCKET"
        sup=$(awk '$1 == "PPid:" { print $2 }' "/proc/$w/status")
        kill -TERM "$sup"
    else
        fail "NOTIFY_SOCKET: no worker"
        kill "$job"
    fi
    wait "$job"
    expect_status "NOTIFY_SOCKET run after SIGTERM" 0 $?
done

finish
