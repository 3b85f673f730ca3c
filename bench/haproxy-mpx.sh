#!/bin/sh
# haproxy-mpx.sh: `make bench-mpx` -- HAProxy in front of one 16-thread
# tests/servers/webapp, 64 concurrent clients (wrk), with the fcgi-app's
# connection options varied:
#
#   off          option keep-conn only: HAProxy's defaults, one request
#                per connection
#   get-values   option get-values + keep-conn: no "option mpxs-conns",
#                but the application's FCGI_GET_VALUES answer
#                (FCGI_MPXS_CONNS=1, FCGI_MAX_REQS=16) turns it on anyway
#   mpx          option get-values + keep-conn + mpxs-conns
#   mpx-16       the same and "option max-reqs 16": a new connection takes
#                more requests before FCGI_GET_VALUES is answered
#
# Each run starts a fresh HAProxy, warms up for 1 s, then measures for
# BENCH_SECONDS.  Modes alternate, in reverse order every other round, so
# drift on a busy machine hits all of them; the table shows medians over
# the rounds, except for "open", the largest seen in any round:
#   open      the most upstream connections open at once
#   carrying  the most that received requests within one 0.5 s window of
#             a run (an idle kept connection is open but carries nothing)
#
# Environment:
#   BENCH_ROUNDS=3            rounds
#   BENCH_SECONDS=4           length of one timed run
#   BENCH_MPX_MODES=...       a subset of the modes above
#   BENCH_MPX_PATHS=...       endpoints, default "sleep?ms=5 dump": 5 ms
#                             in the app, so requests overlap, and no wait
#   BENCH_OUT=DIR             where table-haproxy-mpx.txt stays (default:
#                             bench/results in the build directory)
#
# Needs haproxy, wrk and ss (.ci/servers-deps installs them); not part of
# make check.  Run from the top build directory (make does).

: "${top_builddir:=.}" "${top_srcdir:=.}"
top_builddir=$(cd "$top_builddir" && pwd) top_srcdir=$(cd "$top_srcdir" && pwd)
export top_builddir top_srcdir
. "$top_srcdir/tests/servers/lib.sh"
need haproxy wrk ss

: "${BENCH_ROUNDS:=3}"
: "${BENCH_SECONDS:=4}"
: "${BENCH_MPX_MODES:=off get-values mpx mpx-16}"
: "${BENCH_MPX_PATHS:=sleep?ms=5 dump}"
: "${BENCH_OUT:=$top_builddir/bench/results}"
clients=64
threads=16

set -- $(free_ports 127.0.0.1 2)
http_port=$1 app_port=$2

start_app app WEBAPP_NAME=bench-mpx WEBAPP_LISTEN=127.0.0.1:$app_port WEBAPP_THREADS=$threads
wait_listen 127.0.0.1:$app_port
uses_our_lib $app_pid || die "the app does not run on the libfcgi.so.0 just built"
# The answer to FCGI_GET_VALUES counts the threads in FCGX_Accept_r.
i=0
until "$SRVTOOL" values 127.0.0.1:$app_port 2>/dev/null | grep -q "^FCGI_MAX_REQS=$threads$"; do
    i=$((i + 1))
    [ $i -lt 50 ] || die "the app never announced FCGI_MAX_REQS=$threads"
    sleep 0.1
done

# options MODE: the fcgi-app's connection options in that mode.
options() {
    case $1 in
        off) echo "option keep-conn" ;;
        get-values) printf '%s\n' "option get-values" "option keep-conn" ;;
        mpx) printf '%s\n' "option get-values" "option keep-conn" "option mpxs-conns" ;;
        mpx-16) printf '%s\n' "option get-values" "option keep-conn" "option mpxs-conns" \
                    "option max-reqs $threads" ;;
        *) die "unknown mode $1" ;;
    esac
}

config() {
    cat <<EOF
global
    maxconn 1024

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:$http_port
    default_backend app

fcgi-app webapp
    docroot $work
$(options "$1" | sed 's/^/    /')

backend app
    use-fcgi-app webapp
    http-reuse always
    server app1 127.0.0.1:$app_port proto fcgi
EOF
}

# run MODE PATH ROUND: one fresh HAProxy, a warm-up, a timed run; appends
# "mode path round rps open carrying p50 p99 errors" to $work/runs.
run() {
    config "$1" >"$work/haproxy-$1.cfg"
    haproxy -c -q -f "$work/haproxy-$1.cfg" >"$work/haproxy-check.log" 2>&1 ||
        die "haproxy rejects the $1 config: $(cat "$work/haproxy-check.log")"
    haproxy -db -f "$work/haproxy-$1.cfg" >"$work/haproxy.log" 2>&1 &
    _r_hap=$!
    track $_r_hap
    wait_listen 127.0.0.1:$http_port
    url="http://127.0.0.1:$http_port/$2"
    timeout 30 wrk -t2 -c$clients -d1s --timeout 5s "$url" >/dev/null 2>&1
    out=$work/wrk-$1-$3.out
    start_sampler $app_port "$out.conns"
    timeout $((BENCH_SECONDS + 30)) wrk -t2 -c$clients -d"$BENCH_SECONDS"s --timeout 5s \
        --latency "$url" >"$out" 2>&1
    stop_sampler
    parse_wrk "$out"
    upstream_stats "$out.conns" 0
    echo "$1 $2 $3 $wrk_rps $established $carrying $(wrk_latency "$out" 50)" \
         "$(wrk_latency "$out" 99) $wrk_errors" >>"$work/runs"
    kill $_r_hap
    wait $_r_hap 2>/dev/null
    pids=$(echo " $pids " | sed "s/ $_r_hap / /")
    # Its connections to the app are gone before the next HAProxy starts.
    i=0
    while [ -n "$(upstream_snapshot $app_port)" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}

: >"$work/runs"
reversed=$(echo $BENCH_MPX_MODES | tr ' ' '\n' | awk '{ m[NR] = $0 } END { for (i = NR; i; i--) print m[i] }')
round=1
while [ $round -le $BENCH_ROUNDS ]; do
    if [ $((round % 2)) -eq 1 ]; then order=$BENCH_MPX_MODES; else order=$reversed; fi
    for path in $BENCH_MPX_PATHS; do
        for mode in $order; do
            echo "bench-mpx: round $round/$BENCH_ROUNDS, $mode, /$path" >&2
            run $mode "$path" $round
        done
    done
    round=$((round + 1))
done

# Medians per mode and path ("open": the largest of the rounds).
table() {
    echo "HAProxy $(haproxy -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p'), $clients" \
         "concurrent clients (wrk), webapp with $threads threads," \
         "$BENCH_ROUNDS rounds of ${BENCH_SECONDS} s, medians"
    for path in $BENCH_MPX_PATHS; do
        echo
        echo "/$path"
        printf '%-12s %10s %6s %9s %9s %9s %7s\n' mode "req/s" open carrying \
            "p50 ms" "p99 ms" errors
        for mode in $BENCH_MPX_MODES; do
            awk -v m=$mode -v p="$path" '$1 == m && $2 == p' "$work/runs" | awk '
                function median(col,   i, j, t, v, k) {
                    k = 0
                    for (i = 1; i <= NR; i++) if (row[i, col] != "-") v[++k] = row[i, col] + 0
                    for (i = 2; i <= k; i++)
                        for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
                    if (!k) return "-"
                    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
                }
                { for (c = 1; c <= NF; c++) row[NR, c] = $c
                  if ($5 > open) open = $5
                  err += $9 }
                END { printf "%-12s %10.0f %6d %9d %9s %9s %7d\n", $1, median(4), open, median(6),
                             median(7), median(8), err }'
        done
    done
}

mkdir -p "$BENCH_OUT"
table | tee "$BENCH_OUT/table-haproxy-mpx.txt"
cp "$work/runs" "$BENCH_OUT/runs-haproxy-mpx.txt"
