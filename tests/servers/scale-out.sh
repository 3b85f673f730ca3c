#!/bin/sh
# Scale-out: two application instances on 127.0.0.2 and 127.0.0.3 behind
# one nginx upstream with fastcgi_next_upstream error timeout.  During a
# bounded load run (wrk, 4 s) one instance is killed with SIGKILL: no GET
# may fail, and both instances must have served traffic.  Done twice:
# with a connection per request, then with kept connections.
# FCGI_WEB_SERVER_ADDRS admits nginx (fastcgi_bind 127.0.0.1) and
# refuses a client connecting from 127.0.0.5.
. "$top_srcdir/tests/servers/lib.sh"
need nginx curl wrk

http_port=$(free_ports 127.0.0.1 1)
port_a=$(free_ports 127.0.0.2 1)
port_b=$(free_ports 127.0.0.3 1)
base=http://127.0.0.1:$http_port

# start_instance a|b: sets pid_a or pid_b.
start_instance() {
    if [ $1 = a ]; then ip=127.0.0.2 port=$port_a; else ip=127.0.0.3 port=$port_b; fi
    start_app app-$1 WEBAPP_NAME=$1 WEBAPP_LISTEN=$ip:$port WEBAPP_THREADS=4 \
        WEBAPP_COUNTER="$work/count-$1" FCGI_WEB_SERVER_ADDRS=127.0.0.1
    eval pid_$1=$app_pid
    wait_listen $ip:$port
    check "instance $1 ($ip:$port, pid $app_pid) runs on the libfcgi.so.0 just built" \
        uses_our_lib $app_pid
}

start_instance a
start_instance b

# The address filter, on the raw protocol: 127.0.0.1 is served,
# 127.0.0.5 is closed on without an answer.
"$SRVTOOL" request -from 127.0.0.1 127.0.0.2:$port_a /acl/dump >"$work/acl-ok" 2>&1
check "FCGI_WEB_SERVER_ADDRS admits 127.0.0.1" test $? -eq 0
"$SRVTOOL" request -from 127.0.0.5 127.0.0.2:$port_a /acl/dump >"$work/acl-no" 2>&1
status=$?
check "FCGI_WEB_SERVER_ADDRS refuses 127.0.0.5 (srvtool exit $status, 3 = closed unanswered)" \
    test $status -eq 3
check "the refused client got no output" test ! -s "$work/acl-no"
"$SRVTOOL" request -from 127.0.0.5 127.0.0.3:$port_b /acl/dump >/dev/null 2>&1
check "the second instance refuses 127.0.0.5 too" test $? -eq 3

user=
[ "$(id -u)" -eq 0 ] && user="user nobody nogroup;"
cp "$srv_src/fastcgi_params.in" "$work/fastcgi_params"
render scale-out.conf.in "$work/nginx.conf" WORK="$work" USER="$user" \
    HTTP_PORT=$http_port PORT_A=$port_a PORT_B=$port_b
nginx -t -q -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" ||
    die "nginx rejects the config"
nginx -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" \
    >"$work/nginx-stdout.log" 2>&1 &
track $!
wait_listen 127.0.0.1:$http_port

# kill_run plain|keep: 4 s of load on that location; instance a dies by
# SIGKILL after 1.5 s.
kill_run() {
    mode=$1
    fetch "$base/$mode/dump?first" "$work/r1"
    fetch "$base/$mode/dump?second" "$work/r2"
    apps=$(sed -n 's/^app=\([ab]\) .*/\1/p' "$work/r1" "$work/r2" | sort -u | tr -d '\n')
    check "$mode: round robin reaches both instances ($apps)" test "$apps" = ab

    : >"$work/access.log"
    timeout 30 wrk -t2 -c16 -d4s --timeout 5s "$base/$mode/dump?load" >"$work/wrk-$mode.out" 2>&1 &
    wrk_pid=$!
    sleep 1.5
    kill -KILL $pid_a
    wait $wrk_pid
    parse_wrk "$work/wrk-$mode.out"
    log_a=$(grep -c " 127.0.0.2:$port_a" "$work/access.log")
    log_b=$(grep -c " 127.0.0.3:$port_b" "$work/access.log")
    retried=$(grep -c "127.0.0.2:$port_a, 127.0.0.3:$port_b" "$work/access.log")
    failed5xx=$(grep -c '^5' "$work/access.log")
    # 499: wrk hung up on requests still running when its time was up.
    cut499=$(grep -c '^499 ' "$work/access.log")
    echo "# wrk scale-out $mode: $wrk_requests requests, $wrk_rps req/s, $wrk_errors failed"
    echo "# $mode, nginx log: a=$log_a b=$log_b, $retried retried from a to b," \
         "$failed5xx 5xx, $cut499 cut off by wrk at its end"
    check "$mode: wrk ran requests" test "$wrk_requests" -gt 0
    check "$mode: no failed request while an instance died (wrk: $wrk_errors)" \
        test "$wrk_errors" -eq 0
    check "$mode: no 5xx in nginx's log ($failed5xx)" test "$failed5xx" -eq 0
    check "$mode: instance a served traffic during the run ($log_a)" test "$log_a" -gt 0
    check "$mode: instance b served traffic during the run ($log_b)" test "$log_b" -gt 0
    check "$mode: instance a was killed" sh -c "! kill -0 $pid_a 2>/dev/null"
    check "$mode: instance b is alive" kill -0 $pid_b
    ok=0
    for n in 1 2 3 4 5 6; do
        fetch "$base/$mode/dump?after=$n" "$work/after" && has_line "^app=b " "$work/after" &&
            ok=$((ok + 1))
    done
    check "$mode: after the kill, 6 of 6 requests answered by b ($ok)" test $ok -eq 6
}

kill_run plain
served_a=$(od -An -tu8 "$work/count-a" | tr -d ' ')
rm -f "$work/count-a"
start_instance a
kill_run keep
served_a2=$(od -An -tu8 "$work/count-a" | tr -d ' ')
served_b=$(od -An -tu8 "$work/count-b" | tr -d ' ')
echo "# requests counted by the instances: first a=$served_a, second a=$served_a2, b=$served_b"
finish
