#!/bin/sh
# Faults under load behind nginx: cgi-fcgi -start -supervise keeps 4
# single-threaded webapp workers on a Unix socket, nginx passes to it
# without retrying (fastcgi_next_upstream off), and wrk counts failed
# requests (non-2xx and socket errors) while
#   kill -9   one worker dies: only its request in flight may fail (at
#             most 4 allowed), and a new worker takes its place;
#   SIGHUP    the supervisor replaces all 4 workers: no request fails;
#   SIGTERM   4 slow requests (1.5 s) reached the 4 workers: all complete
#             with 200 and their whole body, then the supervisor exits 0
#             within 15 s and removes its socket and pid files;
#   -recycle  a second supervisor whose workers leave every 200 requests:
#             no request fails and workers were recycled.
# The last line before the totals gives the counts measured.
. "$top_srcdir/tests/servers/lib.sh"
need nginx curl wrk

CGI_FCGI=$top_builddir/cgi-fcgi/cgi-fcgi
[ -x "$CGI_FCGI" ] || { echo "FAIL: $CGI_FCGI not built" >&2; exit 1; }

http_port=$(free_ports 127.0.0.1 1)
base=http://127.0.0.1:$http_port
sock=$work/sup.sock
pidfile=$work/sup.pid
counter=$work/count
sup=

# Should a supervisor fail to stop its workers, they go too (after
# lib.sh's cleanup has sent it SIGTERM, they are no longer its children).
trap '_t_left=$(workers); cleanup; [ -z "$_t_left" ] || kill -KILL $_t_left 2>/dev/null' EXIT

# start_supervisor LOGNAME [OPTIONS...]: 4 workers on $sock; sets sup (the
# supervisor's pid, from -pidfile) and sup_job (the timeout(1) around it,
# whose exit status is the supervisor's).  The socket is made world-
# writable: nginx's workers run as nobody.
start_supervisor() {
    _s_log=$work/$1.log
    shift
    (umask 0; exec env WEBAPP_NAME=sup WEBAPP_COUNTER="$counter" \
        timeout -k 5 300 "$CGI_FCGI" -start -supervise -pidfile "$pidfile" "$@" \
        -connect "$sock" "$WEBAPP" 4) 2>"$_s_log" &
    sup_job=$!
    track $sup_job
    _s_i=0
    while [ ! -s "$pidfile" ] && [ $_s_i -lt 100 ]; do
        sleep 0.1
        _s_i=$((_s_i + 1))
    done
    [ -s "$pidfile" ] || die "the supervisor wrote no pid file"
    sup=$(cat "$pidfile")
    track "$sup"
    wait_listen "$sock"
    wait_workers 4 "" || die "the supervisor did not start 4 workers: $(workers)"
}

# workers: the live children of the supervisor, sorted, on one line.
workers() {
    ps -o pid=,stat= --ppid "$sup" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }' |
        sort -n | paste -sd ' ' -
}

# wait_workers N "PIDS": within 20 s, N workers run and none is in PIDS.
wait_workers() {
    _w_i=0
    while [ $_w_i -lt 200 ]; do
        _w_now=$(workers)
        if [ "$(echo $_w_now | wc -w)" -eq "$1" ] && shares_none "$2" "$_w_now"; then
            return 0
        fi
        sleep 0.1
        _w_i=$((_w_i + 1))
    done
    return 1
}

# shares_none "A B" "C D": no pid of the first list is in the second.
shares_none() {
    for _n_p in $1; do
        case " $2 " in *" $_n_p "*) return 1 ;; esac
    done
    return 0
}

# served: requests all workers have accepted so far (WEBAPP_COUNTER).
served() {
    od -An -tu8 "$counter" 2>/dev/null | tr -d ' '
}

count_5xx() {
    grep -c '^5' "$work/access.log"
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

start_supervisor supervisor
first=$(workers)
check "workers run on the libfcgi.so.0 just built" uses_our_lib "${first%% *}"

user=
[ "$(id -u)" -eq 0 ] && user="user nobody nogroup;"
cp "$srv_src/fastcgi_params.in" "$work/fastcgi_params"
render supervise-nginx.conf.in "$work/nginx.conf" WORK="$work" USER="$user" \
    HTTP_PORT=$http_port
nginx -t -q -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" ||
    die "nginx rejects the config"
nginx -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" \
    >"$work/nginx-stdout.log" 2>&1 &
track $!
wait_listen 127.0.0.1:$http_port

fetch "$base/sup/dump?hello" "$work/hello"
check "a request through nginx reaches a worker" has_line "^app=sup pid=" "$work/hello"

# Each request takes 2 ms in the worker, so a worker is nearly always in
# the middle of one; 8 connections keep all 4 busy.
load_url="$base/sup/sleep?ms=2"

# --- kill -9 one worker under load ------------------------------------
before=$(workers)
victim=${before%% *}
: >"$work/access.log"
timeout 40 wrk -t2 -c8 -d5s --timeout 5s "$load_url" >"$work/wrk-kill.out" 2>&1 &
wrk_pid=$!
sleep 1.5
kill -KILL "$victim"
wait $wrk_pid
parse_wrk "$work/wrk-kill.out"
kill_failed=$wrk_errors kill_total=$wrk_requests kill_5xx=$(count_5xx)
echo "# kill -9 of worker $victim: wrk $kill_total requests, $kill_failed failed;" \
     "nginx logged $kill_5xx 5xx"
check "kill -9: wrk ran requests ($kill_total)" test "$kill_total" -gt 0
check "kill -9: at most the killed worker's requests in flight failed ($kill_failed <= 4)" \
    test "$kill_failed" -le 4
check "kill -9: nginx logged as many 5xx as wrk counted failures ($kill_5xx)" \
    test "$kill_5xx" -eq "$kill_failed"
check "kill -9: 4 workers again, $victim gone ($(workers))" wait_workers 4 "$victim"
check "kill -9: the supervisor logged the restart" has_line \
    "^cgi-fcgi: worker $victim was killed by signal 9 (SIGKILL), restarting in [0-9]* ms$" \
    "$work/supervisor.log"

# --- SIGHUP under load: every worker replaced, nothing fails ----------
before=$(workers)
rolls=$(grep -c '^cgi-fcgi: all workers replaced$' "$work/supervisor.log")
: >"$work/access.log"
timeout 40 wrk -t2 -c8 -d5s --timeout 5s "$load_url" >"$work/wrk-hup.out" 2>&1 &
wrk_pid=$!
sleep 1
kill -HUP "$sup"
wait $wrk_pid
rolled=$(grep -c '^cgi-fcgi: all workers replaced$' "$work/supervisor.log")
parse_wrk "$work/wrk-hup.out"
hup_failed=$wrk_errors hup_total=$wrk_requests hup_5xx=$(count_5xx)
echo "# SIGHUP: wrk $hup_total requests, $hup_failed failed; nginx logged $hup_5xx 5xx"
check "SIGHUP: wrk ran requests ($hup_total)" test "$hup_total" -gt 0
check "SIGHUP: the replacement finished while wrk ran" test "$rolled" -gt "$rolls"
check "SIGHUP: no request failed ($hup_failed)" test "$hup_failed" -eq 0
check "SIGHUP: no 5xx in nginx's log ($hup_5xx)" test "$hup_5xx" -eq 0
check "SIGHUP: all 4 workers replaced ($before -> $(workers))" wait_workers 4 "$before"

# --- SIGTERM with slow requests in flight -----------------------------
# One 1.5 s request per worker; SIGTERM goes once all 4 have been
# accepted (the shared counter says so), while they still sleep.
c0=$(served)
: >"$work/access.log"
slow_pids=
for n in 1 2 3 4; do
    curl -sS --max-time 30 -o "$work/slow$n" -D "$work/slow$n.h" \
        "$base/sup/sleep?ms=1500&n=$n" 2>"$work/slow$n.err" &
    slow_pids="$slow_pids $!"
done
i=0
while [ "$(served)" -lt $((c0 + 4)) ] && [ $i -lt 200 ]; do
    sleep 0.05
    i=$((i + 1))
done
check "SIGTERM: the 4 slow requests reached the workers ($(($(served) - c0)))" \
    test "$(served)" -ge $((c0 + 4))
inflight=0
for p in $slow_pids; do
    kill -0 "$p" 2>/dev/null && inflight=$((inflight + 1))
done
t0=$(now_ms)
kill -TERM "$sup"
completed=0
n=0
for p in $slow_pids; do
    n=$((n + 1))
    wait "$p" && [ "$(status_of "$work/slow$n")" = 200 ] &&
        has_line "^query=ms=1500&n=$n$" "$work/slow$n" &&
        has_line "^content_length=$" "$work/slow$n" && completed=$((completed + 1))
done
i=0
while kill -0 "$sup" 2>/dev/null && [ $i -lt 150 ]; do
    sleep 0.1
    i=$((i + 1))
done
stop_ms=$(($(now_ms) - t0))
wait $sup_job
sup_status=$?
# nginx's request times: the sleeps were not cut short by the signal.
slow_times=$(awk '$4 ~ /sleep\?ms=1500/ { print $3 }' "$work/access.log" | sort -n | paste -sd ' ' -)
full=$(echo "$slow_times" | awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i >= 1.5) n++; print n }')
echo "# SIGTERM: $inflight slow requests in flight, $completed completed (in $slow_times s);" \
     "the supervisor exited $sup_status $stop_ms ms after the signal"
check "SIGTERM: the slow requests were in flight when it came ($inflight)" test $inflight -eq 4
check "SIGTERM: all 4 slow requests completed with 200 and their whole body ($completed)" \
    test $completed -eq 4
check "SIGTERM: each slow request took its full 1.5 s ($slow_times)" test "$full" -eq 4
check "SIGTERM: the supervisor exited 0 ($sup_status)" test $sup_status -eq 0
check "SIGTERM: ... within 15 s ($stop_ms ms)" test $stop_ms -lt 15000
check "SIGTERM: logged" has_line '^cgi-fcgi: SIGTERM received, stopping 4 workers$' \
    "$work/supervisor.log"
check "SIGTERM: socket file removed" test ! -e "$sock"
check "SIGTERM: pid file removed" test ! -e "$pidfile"
left=
for p in $(grep -o 'worker [0-9]* started' "$work/supervisor.log" | cut -d' ' -f2); do
    kill -0 "$p" 2>/dev/null && left="$left $p"
done
check "SIGTERM: no worker left ($left)" test -z "$left"

# --- -recycle under load ----------------------------------------------
rm -f "$pidfile"
start_supervisor supervisor-recycle -recycle 200
: >"$work/access.log"
run_wrk "$base/sup/dump?recycle" 4 8 "$work/wrk-recycle.out"
rec_failed=$wrk_errors rec_total=$wrk_requests rec_5xx=$(count_5xx)
recycled=$(grep -c 'exited with status 0, restarting' "$work/supervisor-recycle.log")
crashed=$(grep -c 'killed by signal\|exited with status [1-9]' "$work/supervisor-recycle.log")
echo "# -recycle 200: wrk $rec_total requests, $rec_failed failed; nginx logged $rec_5xx 5xx;" \
     "$recycled workers recycled"
check "-recycle: wrk ran requests ($rec_total)" test "$rec_total" -gt 0
check "-recycle: no request failed ($rec_failed)" test "$rec_failed" -eq 0
check "-recycle: no 5xx in nginx's log ($rec_5xx)" test "$rec_5xx" -eq 0
check "-recycle: workers were recycled ($recycled)" test "$recycled" -gt 0
check "-recycle: no worker crashed ($crashed)" test "$crashed" -eq 0
kill -TERM "$sup"
wait $sup_job
check "-recycle: the supervisor exited 0 after SIGTERM" test $? -eq 0

echo "supervise-nginx: kill -9: $kill_failed of $kill_total requests failed;" \
     "SIGHUP: $hup_failed of $hup_total; SIGTERM: $completed of 4 slow requests completed;" \
     "-recycle 200: $rec_failed of $rec_total failed, $recycled workers recycled"
finish
