#!/bin/sh
# spawn-fcgi starts three copies of the application (-F 3) on one socket,
# a Unix socket and then 127.0.0.1: every copy is on fd 0, the library
# finds it there, and the copies answer requests, alone or at once.
# Requests come from srvtool, a raw FastCGI client, so no web server is
# involved.
. "$top_srcdir/tests/servers/lib.sh"
need spawn-fcgi

port=$(free_ports 127.0.0.1 1)

for way in unix tcp; do
    if [ $way = unix ]; then
        target=$work/app.sock
        spawn-fcgi -s "$target" -F 3 -P "$work/$way.pids" -- "$WEBAPP" >"$work/spawn-$way.log" 2>&1
    else
        target=127.0.0.1:$port
        spawn-fcgi -a 127.0.0.1 -p $port -F 3 -P "$work/$way.pids" -- "$WEBAPP" >"$work/spawn-$way.log" 2>&1
    fi
    status=$?
    children=$(cat "$work/$way.pids" 2>/dev/null)
    track $children
    check "$way: spawn-fcgi -F 3 succeeds" test $status -eq 0
    check "$way: three children ($(echo $children))" test $(echo $children | wc -w) -eq 3
    wait_listen "$target"
    for pid in $children; do
        check "$way: child $pid runs on the libfcgi.so.0 just built" uses_our_lib $pid
    done

    # Three requests at once, each answered by one of spawn-fcgi's
    # children.  (That they spread over the three is spawn-fcgi-spread.sh.)
    for n in 1 2 3; do
        "$SRVTOOL" request "$target" "/$way/sleep?ms=100&n=$n" >"$work/$way.slow$n" 2>&1 &
        eval slow$n=\$!
    done
    ok=0
    for n in 1 2 3; do
        eval wait \$slow$n && has_line "^query=ms=100&n=$n$" "$work/$way.slow$n" && ok=$((ok + 1))
    done
    check "$way: three concurrent requests answered" test $ok -eq 3
    served_by=$(sed -n 's/^app=webapp pid=\([0-9]*\) .*/\1/p' "$work/$way".slow? | sort -u)
    for pid in $served_by; do
        check "$way: answering pid $pid is one of spawn-fcgi's children" \
            has_line "^$pid$" "$work/$way.pids"
    done

    # A batch of sequential requests, each fully answered.
    good=0
    n=0
    while [ $n -lt 30 ]; do
        "$SRVTOOL" request "$target" "/$way/dump?seq=$n" >"$work/$way.seq" 2>&1 &&
            has_line "^query=seq=$n$" "$work/$way.seq" && good=$((good + 1))
        n=$((n + 1))
    done
    check "$way: 30 sequential requests answered ($good)" test $good -eq 30
    check "$way: role and method arrive" has_line "^role=RESPONDER$" "$work/$way.seq"

    # SIGTERM ends each child (the library's shutdown on SIGTERM).
    kill -TERM $children
    i=0
    while [ $i -lt 50 ]; do
        alive=0
        for pid in $children; do
            kill -0 $pid 2>/dev/null && alive=$((alive + 1))
        done
        [ $alive -eq 0 ] && break
        sleep 0.1
        i=$((i + 1))
    done
    check "$way: SIGTERM stops all three children" test $alive -eq 0
done
finish
