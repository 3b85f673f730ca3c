# Shared by the tests/servers/*.sh tests; sourced, not run.
#
# Each test works in a private directory under $TMPDIR, starts its servers
# there from the templates beside this file, talks to them only over
# loopback addresses and Unix sockets, and stops what it started, by pid.
# Set FCGI_KEEP_WORK=1 to keep the directory (logs, configs) for a look.

set -u
: "${top_builddir:?run from make check}" "${top_srcdir:?run from make check}"
PATH=$PATH:/usr/sbin:/sbin
export PATH

srv_src=$top_srcdir/tests/servers
WEBAPP=$top_builddir/tests/servers/webapp
SRVTOOL=$top_builddir/tests/servers/srvtool
test_name=$(basename "$0" .sh)
failures=0
checks=0
pids=

# Every program of the list must be installed; otherwise the test fails
# with what to run, or is skipped (77) when FCGI_SKIP_SERVERS=1.
need() {
    for _n_prog in "$@"; do
        command -v "$_n_prog" >/dev/null 2>&1 && continue
        if [ "${FCGI_SKIP_SERVERS:-0}" = 1 ]; then
            echo "SKIP: $_n_prog is not installed (FCGI_SKIP_SERVERS=1)"
            exit 77
        fi
        echo "FAIL: $_n_prog is not installed: run .ci/servers-deps (as root)," \
             "or set FCGI_SKIP_SERVERS=1 to skip the web-server tests" >&2
        exit 1
    done
    for _n_prog in "$WEBAPP" "$SRVTOOL"; do
        [ -x "$_n_prog" ] || { echo "FAIL: $_n_prog not built (make check builds it)" >&2; exit 1; }
    done
}

work=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-$test_name.XXXXXX") || exit 1
# Servers that drop root (nginx, Apache workers) must reach the sockets.
chmod 755 "$work"

cleanup() {
    for _k_pid in $pids; do
        kill -TERM "$_k_pid" 2>/dev/null
    done
    for _k_pid in $pids; do
        _k_i=0
        while kill -0 "$_k_pid" 2>/dev/null && [ $_k_i -lt 50 ]; do
            sleep 0.1
            _k_i=$((_k_i + 1))
        done
        kill -KILL "$_k_pid" 2>/dev/null
    done
    if [ "${FCGI_KEEP_WORK:-0}" = 1 ]; then
        echo "work directory kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# Remembers a pid for cleanup.
track() {
    pids="$pids $*"
}

pass() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}

fail() {
    checks=$((checks + 1))
    failures=$((failures + 1))
    echo "not ok $checks - $*"
}

# check DESCRIPTION COMMAND...: one check, passing when COMMAND succeeds.
check() {
    _c_desc=$1
    shift
    if "$@"; then pass "$_c_desc"; else fail "$_c_desc"; fi
}

# Fatal: the test cannot go on.
die() {
    echo "FAIL: $*" >&2
    show_logs
    exit 1
}

show_logs() {
    for _l_f in "$work"/*.log; do
        [ -s "$_l_f" ] || continue
        echo "--- tail of $(basename "$_l_f")"
        tail -n 15 "$_l_f"
    done
}

# Closing line, exit status.
finish() {
    [ $failures -eq 0 ] || show_logs
    echo "$test_name: $((checks - failures)) passed, $failures failed"
    [ $failures -eq 0 ] && [ $checks -gt 0 ]
    exit $?
}

# free_ports ADDR N: N distinct free TCP ports on ADDR, one per line.
free_ports() {
    "$SRVTOOL" port "$1" "$2" || die "no free ports on $1"
}

wait_listen() {
    "$SRVTOOL" wait "$1" "${2:-10}" || die "nothing listens on $1"
}

# render TEMPLATE OUTPUT NAME=VALUE...: copies a template from this
# directory, replacing each @NAME@ by its value.
render() {
    _r_tmpl=$srv_src/$1
    _r_out=$2
    shift 2
    _r_sed=
    for _r_kv in "$@"; do
        _r_sed="$_r_sed;s|@${_r_kv%%=*}@|${_r_kv#*=}|g"
    done
    sed -e "${_r_sed#;}" "$_r_tmpl" >"$_r_out" || die "cannot render $_r_tmpl"
    if grep -n '@[A-Z_]*@' "$_r_out"; then
        die "unreplaced placeholder in $_r_out"
    fi
}

# start_app LOGNAME VAR=VALUE...: runs the webapp in the background with
# those environment variables (WEBAPP_LISTEN at least); sets app_pid.
# Unix sockets are created world-writable: they live in the private
# directory, and unprivileged server workers must be able to connect.
start_app() {
    _a_log=$work/$1.log
    shift
    (umask 0; exec env "$@" "$WEBAPP") >"$_a_log" 2>&1 &
    app_pid=$!
    track $app_pid
}

# fetch URL OUTFILE [CURL ARGS...]: body to OUTFILE, headers to
# OUTFILE.h; fails on transport errors (not on HTTP status).
fetch() {
    _f_url=$1
    _f_out=$2
    shift 2
    curl -sS --max-time 30 -o "$_f_out" -D "$_f_out.h" "$@" "$_f_url"
}

# The HTTP status code of a fetched response (the last status line: a
# "100 Continue" may come first).
status_of() {
    sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$1.h" | tail -n 1
}

# body_is RESPONSE EXPECTED: a 200 whose body is byte for byte EXPECTED.
body_is() {
    [ "$(status_of "$1")" = 200 ] && cmp -s "$1" "$2"
}

has_line() {
    grep -q -- "$1" "$2"
}

# has_header HEADERFILE NAME VALUE: names compare without case (HTTP/2
# style proxies send them in lower case).
has_header() {
    grep -qi "^$2: $3" "$1"
}

# The library the running process loaded must be ours, not Debian's.
# Waits up to 10 s: a process may still be the libtool wrapper script.
# In a build without shared libraries, no libfcgi.so may be loaded at all.
our_libdir=$(cd "$top_builddir/libfcgi" && pwd -P)/.libs
uses_our_lib() {
    _u_i=0
    while [ $_u_i -lt 100 ]; do
        if ls "$our_libdir"/libfcgi.so* >/dev/null 2>&1; then
            grep -q "$our_libdir/libfcgi.so" "/proc/$1/maps" 2>/dev/null && return 0
        elif grep -q "/usr/lib.*/libc.so" "/proc/$1/maps" 2>/dev/null; then
            # Linked statically with ours: started, and no other libfcgi.
            grep -q "libfcgi.so" "/proc/$1/maps" && return 1
            return 0
        fi
        sleep 0.1
        _u_i=$((_u_i + 1))
    done
    return 1
}

# run_wrk URL SECONDS CONNECTIONS OUT: a bounded load run, then parse_wrk.
run_wrk() {
    timeout $(($2 + 20)) wrk -t2 -c"$3" -d"$2"s --timeout 5s "$1" >"$4" 2>&1
    parse_wrk "$4"
}

# parse_wrk OUT: sets wrk_rps, wrk_requests and wrk_errors (socket errors
# plus non-2xx/3xx responses) from wrk's report.
parse_wrk() {
    wrk_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1")
    wrk_requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1")
    _w_non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1")
    _w_sock=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$1")
    wrk_errors=${_w_non2xx:-0}
    for _w_n in $_w_sock; do
        wrk_errors=$((wrk_errors + _w_n))
    done
    : "${wrk_rps:=0}" "${wrk_requests:=0}"
}

# upstream_snapshot PORT: one line per established TCP connection whose
# local port is PORT (an application's side of a web server's connection
# to it): the peer's address and port, and the bytes received on it.
upstream_snapshot() {
    ss -tinH state established "( sport = :$1 )" | awk '
        /^[^ \t]/ { if (p != "") print p, b; p = $4; b = 0; next }
        match($0, /bytes_received:[0-9]+/) { b = substr($0, RSTART + 15, RLENGTH - 15) }
        END { if (p != "") print p, b }'
}

# start_sampler PORT OUT: an upstream_snapshot every 0.5 s, each line
# prefixed with the snapshot's number, until stop_sampler.
start_sampler() {
    (_s_i=0
     while :; do
         upstream_snapshot "$1" | sed "s/^/$_s_i /"
         _s_i=$((_s_i + 1))
         sleep 0.5
     done) >"$2" &
    sampler_pid=$!
    track $sampler_pid
}

stop_sampler() {
    kill $sampler_pid 2>/dev/null
    wait $sampler_pid 2>/dev/null
    # Gone now: cleanup must not signal whatever reuses its pid.
    pids=$(echo " $pids " | sed "s/ $sampler_pid / /")
}

# upstream_stats OUT SKIP: from start_sampler's OUT, sets
#   established  the most connections open in one snapshot;
#   carrying     the most that received bytes (requests) within the 0.5 s
#                between two snapshots, leaving out the first SKIP such
#                windows.
# A connection carried requests in a window when its byte count moved, or
# when it is new there and has received something.
upstream_stats() {
    set -- $(awk -v skip="$2" '
        { n[$1]++; last = $1
          if ($1 > 0 && ((($1 - 1) SUBSEP $2) in b ? b[$1 - 1, $2] != $3 : $3 > 0))
              moved[$1]++
          b[$1, $2] = $3 }
        END { for (i = 0; i <= last; i++) {
                  if (n[i] > est) est = n[i]
                  if (i > skip && moved[i] > car) car = moved[i] }
              print est + 0, car + 0 }' "$1")
    established=$1 carrying=$2
}

# wrk_latency OUT PERCENT: that percentile of a wrk --latency report, in
# milliseconds ("-" when missing).
wrk_latency() {
    sed -n "s/^ *$2% *\([0-9.]*\)\([a-z]*\).*/\1 \2/p" "$1" | awk '
        { f = $2 == "us" ? 0.001 : $2 == "s" ? 1000 : $2 == "m" ? 60000 : 1
          printf "%.2f\n", $1 * f; found = 1 }
        END { if (!found) print "-" }'
}
