#!/bin/sh
# nginx.sh: `make bench-nginx` -- nginx in front of bench/app (built
# against the reference), run on the reference libfcgi and on ours in
# alternate rounds, driven by wrk over HTTP: the whole path a deployment
# takes, where the library is one part of the cost.
#
#   keep    fastcgi_keep_conn on, an upstream keepalive pool
#   close   one connection per request (nginx's default)
#
# The app, single-threaded as most legacy programs are, listens on a Unix
# socket and serves mode=hello (a 14-byte body).  Each round starts the app on one library, runs every mode for
# BENCH_SECONDS after a 1 s warm-up, then does the same on the other
# library (which goes first alternates).  The table shows medians over the
# rounds and the ratio ours / reference of those medians.
#
# Environment:
#   BENCH_ROUNDS=3        rounds
#   BENCH_SECONDS=4       length of one timed run
#   BENCH_CONNECTIONS=16  wrk's connections
#   BENCH_OUT=DIR         where table-nginx.txt stays (default:
#                         bench/results in the build directory)
#
# Needs nginx and wrk (.ci/servers-deps) and the reference libfcgi
# (libfcgi-dev, libfcgi0ldbl); not part of make check.

: "${top_builddir:=.}" "${top_srcdir:=.}"
top_builddir=$(cd "$top_builddir" && pwd) top_srcdir=$(cd "$top_srcdir" && pwd)
export top_builddir top_srcdir
. "$top_srcdir/tests/servers/lib.sh"
need nginx wrk

: "${BENCH_ROUNDS:=3}"
: "${BENCH_SECONDS:=4}"
: "${BENCH_CONNECTIONS:=16}"
: "${BENCH_OUT:=$top_builddir/bench/results}"
mkdir -p "$BENCH_OUT"
app=$top_builddir/bench/app
ourlibdir=$top_builddir/libfcgi/.libs
[ -x "$app" ] || die "bench/app is not built (make bench-nginx builds it)"
modes="keep close"

set -- $(free_ports 127.0.0.1 1)
http_port=$1
sock=$work/app.sock

user=
[ "$(id -u)" -eq 0 ] && user="user nobody nogroup;"
cp "$srv_src/fastcgi_params.in" "$work/fastcgi_params"
cat >"$work/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
$user
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/client_body;
    fastcgi_temp_path $work/fastcgi_temp;
    proxy_temp_path $work/proxy_temp;
    scgi_temp_path $work/scgi_temp;
    uwsgi_temp_path $work/uwsgi_temp;
    upstream app_keep {
        server unix:$sock;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$http_port;
        location /keep/ {
            include $work/fastcgi_params;
            fastcgi_keep_conn on;
            fastcgi_pass app_keep;
        }
        location /close/ {
            include $work/fastcgi_params;
            fastcgi_pass unix:$sock;
        }
    }
}
EOF
nginx -t -q -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" ||
    die "nginx rejects the config"
nginx -p "$work/" -c "$work/nginx.conf" -e "$work/nginx-error.log" \
    >"$work/nginx-stdout.log" 2>&1 &
track $!
wait_listen 127.0.0.1:$http_port

# run_lib LIB ROUND: every mode measured on a fresh app on LIB (the
# reference, once it holds a kept connection, takes no other); appends
# "LIB MODE RPS ERRORS" lines to $work/runs.
run_lib() {
    libpath=
    [ "$1" = ours ] && libpath=$ourlibdir
    for mode in $modes; do
        rm -f "$sock"
        (umask 0; LD_LIBRARY_PATH=$libpath exec "$app" -l "$sock") \
            >>"$work/app-$1.log" 2>&1 &
        pid=$!
        track $pid
        wait_listen "$sock"
        url="http://127.0.0.1:$http_port/$mode/x?mode=hello"
        # The warm-up also clears nginx's pool of connections to the
        # previous app.
        timeout 30 wrk -t2 -c"$BENCH_CONNECTIONS" -d1s "$url" >/dev/null 2>&1
        run_wrk "$url" "$BENCH_SECONDS" "$BENCH_CONNECTIONS" "$work/wrk-$1-$mode-$2.out"
        echo "$1 $mode $wrk_rps $wrk_errors" >>"$work/runs"
        echo "  round $2 $1 $mode: $wrk_rps req/s, $wrk_errors errors" >&2
        # The reference may sit in read() on a kept connection after SIGTERM.
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}

: >"$work/runs"
r=1
while [ $r -le "$BENCH_ROUNDS" ]; do
    if [ $((r % 2)) -eq 1 ]; then run_lib ref $r; run_lib ours $r
    else run_lib ours $r; run_lib ref $r; fi
    r=$((r + 1))
done

# median LIB MODE: the median req/s of that library and mode.
median() {
    awk -v l="$1" -v m="$2" '$1 == l && $2 == m { print $3 }' "$work/runs" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

{
    echo "fcgi-ng bench-nginx, $(date -u '+%Y-%m-%d %H:%M UTC'): nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'),"
    echo "wrk -c$BENCH_CONNECTIONS, $BENCH_ROUNDS rounds x $BENCH_SECONDS s, single-threaded bench/app on a Unix socket"
    printf '%-8s %12s %12s %8s %8s\n' mode "ref req/s" "ours req/s" ratio errors
    for mode in $modes; do
        ref=$(median ref $mode) ours=$(median ours $mode)
        errors=$(awk -v m="$mode" '$2 == m { e += $4 } END { print e + 0 }' "$work/runs")
        printf '%-8s %12.0f %12.0f %7.2fx %8d\n' "$mode" "$ref" "$ours" \
            "$(echo "$ours $ref" | awk '{ print ($2 > 0) ? $1 / $2 : 0 }')" "$errors"
    done
} | tee "$BENCH_OUT/table-nginx.txt"
