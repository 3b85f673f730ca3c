#!/bin/sh
# Several processes on one listening socket (spawn-fcgi -F 3, the classic
# deployment) share the work: three slow requests arriving together are
# answered by three different processes, in about the time of one.
#
# The clients connect and send their request 5 ms later, as a busy web
# server may.  Libfcgi 2.4.2 passes this every time (a process takes one
# connection and reads it).  Expected to fail while the library accepts
# further connections whose request has not arrived yet and queues them
# in the same process (see XFAIL_TESTS in tests/servers/local.mk).
. "$top_srcdir/tests/servers/lib.sh"
need spawn-fcgi

port=$(free_ports 127.0.0.1 1)
rounds=8

for way in unix tcp; do
    if [ $way = unix ]; then
        target=$work/app.sock
        spawn-fcgi -s "$target" -F 3 -P "$work/$way.pids" -- "$WEBAPP" >"$work/spawn-$way.log" 2>&1
    else
        target=127.0.0.1:$port
        spawn-fcgi -a 127.0.0.1 -p $port -F 3 -P "$work/$way.pids" -- "$WEBAPP" >"$work/spawn-$way.log" 2>&1
    fi
    children=$(cat "$work/$way.pids" 2>/dev/null)
    track $children
    [ $(echo $children | wc -w) -eq 3 ] || die "$way: spawn-fcgi did not start three children"
    for pid in $children; do
        uses_our_lib $pid || die "$way: child $pid is not on the libfcgi.so.0 just built"
    done
    wait_listen "$target"

    spread=0
    round=0
    while [ $round -lt $rounds ]; do
        for n in 1 2 3; do
            "$SRVTOOL" request -delay 5 "$target" "/$way/sleep?ms=200" >"$work/$way.r$n" 2>&1 &
            eval req$n=\$!
        done
        for n in 1 2 3; do
            eval wait \$req$n
        done
        distinct=$(sed -n 's/^app=webapp pid=\([0-9]*\) .*/\1/p' "$work/$way".r? | sort -u | wc -l)
        echo "# $way round $round: answered by $distinct processes"
        [ "$distinct" -eq 3 ] && spread=$((spread + 1))
        round=$((round + 1))
    done
    check "$way: $spread of $rounds rounds spread over all three processes" test $spread -eq $rounds
    kill -TERM $children
done
finish
