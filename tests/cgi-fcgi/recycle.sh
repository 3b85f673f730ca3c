#!/bin/sh
# recycle.sh: -start -supervise -recycle N.  The workers get
# FCGI_RECYCLE_AFTER=N; with -recycle 5 and 2 workers, 40 sequential
# requests all succeed while every worker serves at most 5 of them and is
# replaced at once when it exits with status 0; those exits leave the
# crash back-off alone (a SIGKILL afterwards is still restarted after
# 100 ms); a program that exits 0 as soon as it starts is restarted at
# most every 100 ms, not in a tight loop.  Bad -recycle values are
# covered by args.sh.
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99
S=$tmp/rec.sock
P=$tmp/rec.pid

# -recycle needs -supervise (the message and usage text: args.sh).
cgi -start -recycle 5 -connect "$S" "$APP" 2>err
expect_status "-recycle without -supervise" 1 $?
expect_grep "-recycle without -supervise message" err '^-recycle needs -start -supervise$'

cgi -start -supervise -recycle 5 -pidfile "$P" -connect "$S" "$APP" 2 2>sup.err &
job=$!
if ! wait_until 10 test -s "$P" || ! wait_for_apps 2; then
    fail "the supervisor did not start 2 workers"
    cat sup.err >&2
    kill "$job" 2>/dev/null
    finish
fi
sup=$(cat "$P")
first=$(ls "$APP_PIDDIR" | head -n 1)
tr '\0' '\n' <"/proc/$first/environ" >env.out 2>/dev/null
expect_grep "the worker has FCGI_RECYCLE_AFTER=5" env.out '^FCGI_RECYCLE_AFTER=5$'

# 40 requests, one after the other, each answered with the worker's pid.
# Each takes 30 ms, so a worker lives longer than 100 ms and is restarted
# without any wait.
n=0
ok=0
: >pids.out
while [ "$n" -lt 40 ]; do
    n=$((n + 1))
    QUERY_STRING='sleep=30&pid' cgi -bind -connect "$S" </dev/null >one.out 2>one.err
    rc=$?
    pid=$(sed -n '/^[0-9][0-9]*$/p' one.out)
    if [ "$rc" -eq 0 ] && [ -n "$pid" ]; then
        ok=$((ok + 1))
        echo "$pid" >>pids.out
    else
        fail "request $n: exit $rc: $(cat one.out one.err | head -3)"
    fi
done
distinct=$(sort -u pids.out | wc -l)
most=$(sort pids.out | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
[ "$ok" -eq 40 ] && pass "40 of 40 requests succeeded" || fail "$ok of 40 requests succeeded"
# 40 requests at 5 per worker: at least 8 workers served them.
[ "$distinct" -ge 8 ] && pass "$distinct workers served the 40 requests" ||
    fail "only $distinct workers served the 40 requests: $(sort pids.out | uniq -c | tr '\n' ' ')"
[ "${most:-0}" -le 5 ] && pass "no worker served more than 5 requests (at most $most)" ||
    fail "a worker served $most requests: $(sort pids.out | uniq -c | tr '\n' ' ')"

# At most 2 x 4 of the 40 went to workers still running: 7 or more left.
recycled=$(grep -c '^cgi-fcgi: worker [0-9]* exited with status 0, restarting$' sup.err)
[ "$recycled" -ge 7 ] && pass "$recycled recycled workers restarted at once" ||
    fail "$recycled workers logged 'exited with status 0, restarting'"
if grep -q 'exited with status 0, restarting in' sup.err; then
    fail "a recycled worker waited: $(grep 'exited with status 0, restarting in' sup.err | head -3)"
else
    pass "no recycled worker waited to be restarted"
fi
wait_for_apps 2 && pass "2 workers run after recycling" || fail "workers after recycling: $(app_count)"

# Recycling is not crashing: the back-off is still at its first step.
victim=
for f in "$APP_PIDDIR"/*; do
    [ -e "$f" ] && alive "${f##*/}" && victim=${f##*/}
done
kill -KILL "$victim"
wait_until 10 grep -q "^cgi-fcgi: worker $victim was killed" sup.err
expect_grep "SIGKILL after recycling: first back-off step" sup.err \
    "^cgi-fcgi: worker $victim was killed by signal 9 (SIGKILL), restarting in 100 ms\$"

kill -TERM "$sup"
wait "$job"
expect_status "-supervise -recycle after SIGTERM" 0 $?
[ "$(app_count)" -eq 0 ] && pass "no worker left" || fail "workers left: $(app_count)"

# A program that exits 0 at once is not restarted in a tight loop: at most
# once per 100 ms.
printf '#!/bin/sh\nexit 0\n' >quits
chmod +x quits
cgi -start -supervise -pidfile "$P" -connect "$tmp/quits.sock" "$tmp/quits" 2>quits.err &
job=$!
wait_until 10 test -s "$P" || fail "exit 0 loop: no pid file"
sleep "$slow"
kill -TERM "$(cat "$P")" 2>/dev/null || kill -TERM "$job"
wait "$job"
expect_status "exit 0 loop stopped by SIGTERM" 0 $?
# About 10 in a second; a tight loop would be hundreds.
n=$(grep -c 'exited with status 0, restarting' quits.err)
[ "$n" -ge 2 ] && [ "$n" -le $((30 * slow)) ] && pass "exit 0 loop: $n restarts in $slow s" ||
    fail "exit 0 loop: $n restarts in $slow s"
expect_grep "exit 0 loop: restarts wait" quits.err 'exited with status 0, restarting in [0-9]* ms$'

finish
