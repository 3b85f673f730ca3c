#!/bin/sh
# run.sh: `make bench` -- this libfcgi against the reference, as ratios.
#
# One application binary (bench/app, built against the reference headers
# and libfcgi.so.0) runs twice per round and scenario: once as built, once
# with our libfcgi.so.0 swapped in through LD_LIBRARY_PATH, the way an
# installed program meets a drop-in replacement.  bench/client loads it
# over raw FastCGI and checks every response.  The libraries alternate
# (ref/ours, then ours/ref) so drift on a busy machine hits both; the
# tables show medians, and the req/s ratio is the median of the per-round
# ratios ours / reference.
#
# hello-keep and hello-close have a third contender in the same rounds
# (ref/ours/limit, then limit/ours/ref): bench/limit, a responder with no
# library that does one read() and one write() per request, the physical
# limit the performance target is stated against.  The report gives its
# req/s and the medians of the per-round ratios ref / limit and ours /
# limit, its CPU time per request and, with perf, its system calls.
#
# Per request it also measures, for the app process only:
#   - CPU time (user + system) from /proc/PID/task/*/schedstat, counted
#     over each timed run (after a warm-up run), divided by its responses;
#   - system calls, natively with `perf stat` tracepoints when perf can, and
#     with `strace -c -f` (which slows every call, so a read finds its data
#     waiting more often than it would natively);
#   - instructions, with `valgrind --tool=callgrind`.
# Counts come from two runs of the app with -n N1 and -n N2 requests,
# differenced, so start-up and exit cancel.  Peak RSS is the app's VmHWM at
# the end of each timed run.
#
# Environment:
#   BENCH_ROUNDS=5        rounds per scenario
#   BENCH_SECONDS=2       length of one timed run
#   BENCH_SCENARIOS=...   a subset of the scenario names below
#   BENCH_PROFILE=no      skip perf, strace and callgrind
#   BENCH_OUT=DIR         where logs, counts and callgrind files stay
#                         (default: bench/results in the build directory)
#
# Run from the top build directory (make does), or set top_builddir.

set -u

: "${top_builddir:=.}"
: "${BENCH_ROUNDS:=5}"
: "${BENCH_SECONDS:=2}"
: "${BENCH_PROFILE:=yes}"
: "${BENCH_OUT:=$top_builddir/bench/results}"
: "${BENCH_SCENARIOS:=hello-keep hello-close big-keep echo-keep split-ipv6 split-ipv4 threaded-16 threaded-x4}"

app=$top_builddir/bench/app
client=$top_builddir/bench/client
limit=$top_builddir/bench/limit
ourlibdir=$top_builddir/libfcgi/.libs

for f in "$app" "$client" "$limit" "$ourlibdir/libfcgi.so.0"; do
    if [ ! -e "$f" ]; then
        echo "run.sh: $f is missing (make bench builds it)" >&2
        exit 1
    fi
done
ourlibdir=$(cd "$ourlibdir" && pwd)

# The app must load the reference as built, and ours when swapped.
loaded() {
    env -u LD_LIBRARY_PATH ${1:+LD_LIBRARY_PATH=$1} ldd "$app" |
        awk '$1 == "libfcgi.so.0" { print $3 }'
}
reflib=$(loaded)
case $reflib in
    "$ourlibdir"/* | "")
        echo "run.sh: $app is not linked against the reference libfcgi" >&2
        exit 1
        ;;
esac
case $(loaded "$ourlibdir") in
    "$ourlibdir"/*) ;;
    *)
        echo "run.sh: LD_LIBRARY_PATH=$ourlibdir does not swap in our library" >&2
        exit 1
        ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }
use_strace=no
use_callgrind=no
use_perf=no
if [ "$BENCH_PROFILE" != no ]; then
    if have strace; then use_strace=yes; else echo "run.sh: no strace: skipped" >&2; fi
    if have valgrind; then use_callgrind=yes; else echo "run.sh: no valgrind: skipped" >&2; fi
    if have perf && perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
        use_perf=yes
    else
        echo "run.sh: perf cannot count syscall tracepoints here: native counts skipped" >&2
    fi
fi

rm -rf "$BENCH_OUT"
mkdir -p "$BENCH_OUT" || exit 1
BENCH_OUT=$(cd "$BENCH_OUT" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-bench.XXXXXX") || exit 1
apps=
cleanup() {
    for p in $apps; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# perf events: every syscall, and the ones worth naming.
perf_events=raw_syscalls:sys_enter
if [ "$use_perf" = yes ]; then
    perf list tracepoint 2>/dev/null | awk '{ print $1 }' >"$tmp/tracepoints"
    for s in read write readv writev recvfrom recvmsg sendto sendmsg sendfile64 \
             poll ppoll select pselect6 epoll_wait epoll_pwait accept accept4 \
             close shutdown setsockopt getsockopt getpeername getsockname fcntl \
             ioctl futex mmap munmap brk madvise; do
        if grep -qx "syscalls:sys_enter_$s" "$tmp/tracepoints"; then
            perf_events="$perf_events,syscalls:sys_enter_$s"
        fi
    done
fi

# scenario NAME sets: family (unix, ipv4, ipv6), warm (warm-up requests
# before a timed run), n1 n2 (requests of the strace and callgrind runs), p1 p2
# (of the perf runs), appargs, cargs (client arguments).
scenario() {
    appargs=
    case $1 in
        hello-keep)  family=unix warm=1000 n1=2000 n2=6000 p1=2000 p2=42000
                     cargs="-r hello" ;;
        hello-close) family=unix warm=1000 n1=2000 n2=6000 p1=2000 p2=22000
                     cargs="-r hello -K" ;;
        big-keep)    family=unix warm=20 n1=20 n2=120 p1=20 p2=420
                     cargs="-r big -s 1048576" ;;
        echo-keep)   family=unix warm=20 n1=20 n2=120 p1=20 p2=420
                     cargs="-r echo -s 1048576" ;;
        split-ipv6)  family=ipv6 warm=5 n1=10 n2=50 p1=10 p2=50
                     cargs="-r split -s 20480" ;;
        split-ipv4)  family=ipv4 warm=5 n1=10 n2=50 p1=10 p2=1010
                     cargs="-r split -s 20480" ;;
        threaded-16) family=unix warm=1000 n1=2000 n2=6000 p1=2000 p2=42000
                     appargs="-t 16" cargs="-r hello -c 16 -T 2" ;;
        threaded-x4) family=unix warm=1000 n1=2000 n2=6000 p1=2000 p2=42000
                     appargs="-t 16" cargs="-r hello -c 4 -T 2" ;;
        *) echo "run.sh: unknown scenario $1" >&2; exit 1 ;;
    esac
}

# has_limit NAME: does bench/limit run in scenario NAME too?
has_limit() {
    case $1 in
        hello-keep | hello-close) return 0 ;;
        *) return 1 ;;
    esac
}

describe() {
    case $1 in
        hello-keep)  echo "keep-conn hello world, 1 connection (unix)" ;;
        hello-close) echo "connection per request, hello world (unix)" ;;
        big-keep)    echo "1 MiB response in 64 KiB FCGX_PutStr calls, keep-conn (unix)" ;;
        echo-keep)   echo "1 MiB POST echoed back, keep-conn (unix)" ;;
        split-ipv6)  echo "20 KiB in 3 pieces, FCGX_FFlush between, TCP [::1], keep-conn" ;;
        split-ipv4)  echo "the same over TCP 127.0.0.1 (control)" ;;
        threaded-16) echo "16 threads in FCGX_Accept_r, 16 keep-conn connections (unix)" ;;
        threaded-x4) echo "16 threads in FCGX_Accept_r, 4 keep-conn connections (unix)" ;;
    esac
}

# start_app LIB NAME [PREFIX...]: start the app (under PREFIX, if any) on
# the scenario's address, or bench/limit when LIB is limit; sets pid and
# addr.
start_app() {
    lib=$1 name=$2
    shift 2
    case $family in
        unix) listen=$tmp/$name.sock ;;
        ipv4) listen=127.0.0.1:0 ;;
        ipv6) listen='[::1]:0' ;;
    esac
    rm -f "$tmp/port"
    libpath=
    [ "$lib" = ours ] && libpath=$ourlibdir
    prog=$app
    [ "$lib" = limit ] && prog=$limit
    # shellcheck disable=SC2086
    LD_LIBRARY_PATH=$libpath "$@" "$prog" -l "$listen" -P "$tmp/port" $appargs \
        </dev/null >>"$BENCH_OUT/app.log" 2>&1 &
    pid=$!
    apps="$apps $pid"
    i=0
    while [ ! -s "$tmp/port" ]; do
        if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 1200 ]; then
            echo "run.sh: the app did not start ($lib, $name); see $BENCH_OUT/app.log" >&2
            exit 1
        fi
        sleep 0.05
        i=$((i + 1))
    done
    case $family in
        unix) addr=$listen ;;
        ipv4) addr=127.0.0.1:$(cat "$tmp/port") ;;
        ipv6) addr="[::1]:$(cat "$tmp/port")" ;;
    esac
}

forget_app() {
    apps=$(echo "$apps" | tr ' ' '\n' | grep -v "^$pid\$" | tr '\n' ' ')
}

stop_app() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget_app
}

# failed LABEL MESSAGE: note a failed run; the report lists them.
failed() {
    echo "$1: $2" >>"$BENCH_OUT/failures.txt"
    echo "run.sh: FAILED $1: $2" >&2
}

# wait_app LABEL: the app was told to exit after its requests; wait for it.
wait_app() {
    if wait "$pid"; then
        forget_app
        return 0
    fi
    forget_app
    failed "$1" "the app exited with an error (see $BENCH_OUT/app.log)"
    return 1
}

# client_run LABEL ARGS...: run the client against addr; sets line to the
# NAME=VALUE line it printed.
client_run() {
    label=$1
    shift
    if timeout 600 "$client" "$@" "$addr" </dev/null >"$tmp/client.out" 2>"$tmp/client.err"; then
        line=$(cat "$tmp/client.out")
        return 0
    fi
    failed "$label" "$(cat "$tmp/client.err")"
    return 1
}

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Nanoseconds on CPU of all threads of process $1 so far.
cpu_ns() {
    cat "/proc/$1"/task/*/schedstat 2>/dev/null | awk '{ ns += $1 } END { printf "%.0f\n", ns }'
}

# One timed run, after a warm-up run of its own (so the CPU time counted
# leaves out first-request costs: lazy binding, first page faults); appends
# "rps p99_us vmhwm_kb cpu_us_per_request" to NAME.LIB.runs, or "0 0 0 0"
# when the run failed, so that line k of every library's file is round k.
measure() {
    lib=$1 name=$2
    start_app "$lib" "$name"
    # shellcheck disable=SC2086
    if ! client_run "$name/$lib warm-up" $cargs -n "$warm" -t 30 ||
       ! { cpu0=$(cpu_ns "$pid") && client_run "$name/$lib" $cargs -d "$BENCH_SECONDS" -t 30; }; then
        stop_app
        echo "0 0 0 0" >>"$BENCH_OUT/$name.$lib.runs"
        return 0
    fi
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    cpu=$(awk -v a="$cpu0" -v b="$(cpu_ns "$pid")" -v n="$(field "$line" total)" \
          'BEGIN { printf "%.2f", n ? (b - a) / n / 1000 : 0 }')
    stop_app
    echo "$(field "$line" rps) $(field "$line" p99_us) ${hwm:-0} $cpu" >>"$BENCH_OUT/$name.$lib.runs"
    printf '  %-12s %-5s %s cpu_us=%s\n' "$name" "$lib" "$line" "$cpu" >&2
}

median() {  # median of column $2 of file $1, over the runs that did not fail
    [ -s "$1" ] || { echo n/a; return; }
    awk '$1 > 0' "$1" | sort -g -k"$2","$2" | awk -v c="$2" '{ v[NR] = $c }
        END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# whole NUMBER: NUMBER rounded, or n/a as it is.
whole() {
    case $1 in
        n/a) echo n/a ;;
        *) printf '%.0f\n' "$1" ;;
    esac
}

# paired NAME [A B]: the per-round ratios B / A (default ours / ref) of
# req/s (runs of one round are adjacent in time, so they share the
# machine's load): "median min max".
paired() {
    a=${2:-ref} b=${3:-ours}
    if [ ! -s "$BENCH_OUT/$1.$a.runs" ] || [ ! -s "$BENCH_OUT/$1.$b.runs" ]; then
        echo "n/a n/a n/a"
        return
    fi
    paste -d ' ' "$BENCH_OUT/$1.$a.runs" "$BENCH_OUT/$1.$b.runs" |
        awk 'NF == 8 && $1 > 0 && $5 > 0 { print $5 / $1 }' | sort -g |
        awk 'function f(x) { return sprintf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x) }
             { v[NR] = $1 }
             END { if (NR == 0) { print "n/a n/a n/a"; exit }
                   m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                   print f(m) "x", f(v[1]), f(v[NR]) }'
}

# counted_run LIB NAME N PREFIX...: the app serves exactly N requests under
# PREFIX, then exits so the tool writes its totals.
counted_run() {
    lib=$1 name=$2 n=$3
    shift 3
    saved=$appargs
    appargs="$appargs -n $n"
    case $* in
        *callgrind*) tool=callgrind ;;
        *) tool=$1 ;;
    esac
    start_app "$lib" "$name" timeout 900 "$@"
    appargs=$saved
    # shellcheck disable=SC2086
    if ! client_run "$name/$lib under $tool, -n $n" $cargs -n "$n" -t 120; then
        stop_app
        return 1
    fi
    wait_app "$name/$lib under $tool, -n $n"
}

strace_counts() {  # LIB NAME N: prints "syscall calls" lines
    f=$BENCH_OUT/strace-$2-$1-$3.txt
    counted_run "$1" "$2" "$3" strace -f -c -o "$f" || return 1
    awk '/^%|^-|total$/ { next } NF >= 5 { print $NF, $4 }' "$f"
}

perf_counts() {  # LIB NAME N: prints "syscall calls" lines, RAW = all
    f=$BENCH_OUT/perf-$2-$1-$3.txt
    counted_run "$1" "$2" "$3" perf stat -x, -o "$f" -e "$perf_events" -- || return 1
    awk -F, '$3 == "raw_syscalls:sys_enter" { print "RAW", $1 }
             $3 ~ /^syscalls:sys_enter_/ { sub(/^syscalls:sys_enter_/, "", $3); print $3, $1 }' "$f"
}

# glibc copies large blocks with `rep movsb`, which callgrind counts as one
# instruction per byte; raising the threshold makes every copy a vector loop
# for both libraries, so bulk copies weigh what they cost.
callgrind_total() {  # LIB NAME N: prints the total Ir
    f=$BENCH_OUT/callgrind-$2-$1-$3.out
    counted_run "$1" "$2" "$3" \
        env GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295:glibc.cpu.x86_rep_stosb_threshold=4294967295 \
        valgrind -q --tool=callgrind --callgrind-out-file="$f" || return 1
    awk '/^(summary|totals):/ { print $2; exit }' "$f"
}

# diff_counts A B N1 N2: per-request "syscall count" lines, largest first,
# then "TOTAL count" (the RAW count when there is one).
diff_counts() {
    awk -v n1="$3" -v n2="$4" '
        NR == FNR { a[$1] = $2; next }
        { b[$1] = $2 }
        END {
            for (k in a) if (!(k in b)) b[k] = 0
            for (k in b) {
                d = (b[k] - a[k]) / (n2 - n1)
                if (k == "RAW") { raw = d; continue }
                tot += d
                if (d >= 0.005 || d <= -0.005) printf "%s %.2f\n", k, d
            }
            printf "TOTAL %.2f\n", (raw != "") ? raw : tot
        }' "$1" "$2" | sort -k2,2gr
}

profile_perf() {
    lib=$1 name=$2
    if [ "$use_perf" = yes ] && perf_counts "$lib" "$name" "$p1" >"$tmp/c1" &&
       perf_counts "$lib" "$name" "$p2" >"$tmp/c2"; then
        diff_counts "$tmp/c1" "$tmp/c2" "$p1" "$p2" >"$BENCH_OUT/$name.$lib.perf"
        printf '  %-12s %-5s syscalls/request (perf):   %s\n' "$name" "$lib" \
            "$(tr '\n' ' ' <"$BENCH_OUT/$name.$lib.perf")" >&2
    fi
}

profile() {
    lib=$1 name=$2
    profile_perf "$lib" "$name"
    if [ "$use_strace" = yes ] && strace_counts "$lib" "$name" "$n1" >"$tmp/c1" &&
       strace_counts "$lib" "$name" "$n2" >"$tmp/c2"; then
        diff_counts "$tmp/c1" "$tmp/c2" "$n1" "$n2" >"$BENCH_OUT/$name.$lib.strace"
        printf '  %-12s %-4s syscalls/request (strace): %s\n' "$name" "$lib" \
            "$(tr '\n' ' ' <"$BENCH_OUT/$name.$lib.strace")" >&2
    fi
    if [ "$use_callgrind" = yes ] && callgrind_total "$lib" "$name" "$n1" >"$tmp/i1" &&
       callgrind_total "$lib" "$name" "$n2" >"$tmp/i2"; then
        i1=$(cat "$tmp/i1")
        i2=$(cat "$tmp/i2")
        awk -v a="$i1" -v b="$i2" -v n1="$n1" -v n2="$n2" \
            'BEGIN { if (a != "" && b != "") printf "%.0f\n", (b - a) / (n2 - n1) }' \
            >"$BENCH_OUT/$name.$lib.ir"
        printf '  %-12s %-4s instructions/request: %s\n' "$name" "$lib" \
            "$(cat "$BENCH_OUT/$name.$lib.ir")" >&2
    fi
}

# Is there an IPv6 loopback to listen on?
"$app" -l '[::1]:0' -P "$tmp/v6probe" </dev/null >/dev/null 2>&1 &
v6pid=$!
i=0
while [ ! -s "$tmp/v6probe" ] && kill -0 "$v6pid" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
if [ -s "$tmp/v6probe" ]; then ipv6_ok=yes; else ipv6_ok=no; fi
kill "$v6pid" 2>/dev/null
wait "$v6pid" 2>/dev/null

scenarios=
for name in $BENCH_SCENARIOS; do
    scenario "$name"
    if [ "$family" = ipv6 ] && [ "$ipv6_ok" = no ]; then
        echo "run.sh: no IPv6 loopback here: $name skipped" >&2
        continue
    fi
    scenarios="$scenarios $name"
done

echo "fcgi-ng bench: $BENCH_ROUNDS rounds x $BENCH_SECONDS s per library and scenario" >&2
for name in $scenarios; do
    scenario "$name"
    echo "$name: $(describe "$name")" >&2
    r=1
    while [ "$r" -le "$BENCH_ROUNDS" ]; do
        if [ $((r % 2)) -eq 1 ]; then order="ref ours"; else order="ours ref"; fi
        if has_limit "$name"; then
            if [ $((r % 2)) -eq 1 ]; then order="$order limit"; else order="limit $order"; fi
        fi
        for lib in $order; do
            measure "$lib" "$name"
        done
        r=$((r + 1))
    done
    for lib in ref ours; do
        profile "$lib" "$name"
    done
    # The limit's system calls only: perf counts them natively and cheaply.
    if has_limit "$name"; then
        profile_perf limit "$name"
    fi
done

# --- the report ------------------------------------------------------------

val() { if [ -s "$1" ]; then cat "$1"; else echo n/a; fi; }
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || a + 0 == 0) print "n/a";
                                     else printf "%.2fx\n", b / a }'
}
count_total() {
    if [ -s "$1" ]; then awk '$1 == "TOTAL" { print $2 }' "$1"; else echo n/a; fi
}
count_list() {
    [ -s "$1" ] && awk '$1 != "TOTAL" { printf "%s%s %s", sep, $1, $2; sep = ", " }' "$1"
}

# The functions of one callgrind profile: "Ir<TAB>file:function [object]".
functions() {
    callgrind_annotate --threshold=100 --auto=no "$1" 2>/dev/null | awk '
        /file:function/ { list = 1; next }
        list && /^-+$/ { if (++dash > 1) exit; next }
        list && match($0, /^ *[0-9,]+ +\( *[0-9.]+%\) +/) {
            ir = $1; gsub(/,/, "", ir)
            print ir "\t" substr($0, RLENGTH + 1)
        }'
}

# top_functions NAME LIB: the costliest functions per request, differenced.
top_functions() {
    functions "$BENCH_OUT/callgrind-$1-$2-$n1.out" >"$tmp/f1"
    functions "$BENCH_OUT/callgrind-$1-$2-$n2.out" >"$tmp/f2"
    awk -F '\t' -v n1="$n1" -v n2="$n2" '
        NR == FNR { a[$2] = $1; next }
        { d = ($1 - a[$2]) / (n2 - n1); tot += d; if (d >= 1) printf "%.0f\t%s\n", d, $2 }
        END { printf "%.0f\tTOTAL\n", tot }' "$tmp/f1" "$tmp/f2" |
        sort -t "$(printf '\t')" -k1,1nr | head -13 |
        awk -F '\t' '{ sub(/ \[[^]]*\]$/, "", $2); sub(/^.*\//, "", $2); printf "%10d  %s\n", $1, $2 }'
}

report() {
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
    refver=$(dpkg-query -W -f='${Version}' libfcgi0ldbl 2>/dev/null || echo unknown)
    echo "fcgi-ng bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine:   ${cpu:-unknown CPU}, $(nproc 2>/dev/null || echo '?') cores, $(uname -sr)"
    echo "reference: $reflib (libfcgi0ldbl $refver)"
    echo "ours:      $ourlibdir/libfcgi.so.0"
    echo "one binary, bench/app, built against the reference; ours swapped in with"
    echo "LD_LIBRARY_PATH.  Medians of $BENCH_ROUNDS alternating runs of $BENCH_SECONDS s;"
    echo "ratios are ours / reference; the req/s ratio is the median (and range)"
    echo "of the per-round ratios, each from two runs adjacent in time."
    echo
    for name in $scenarios; do
        printf '  %-12s %s\n' "$name" "$(describe "$name")"
    done
    echo
    printf '%-12s %10s %10s %7s %11s %9s %9s %8s %8s\n' scenario "ref req/s" \
        "ours req/s" ratio "(range)" "ref p99us" "ours p99us" "ref RSS" "ours RSS"
    for name in $scenarios; do
        rr=$(median "$BENCH_OUT/$name.ref.runs" 1)
        ro=$(median "$BENCH_OUT/$name.ours.runs" 1)
        # shellcheck disable=SC2046
        set -- $(paired "$name")
        printf '%-12s %10s %10s %7s %11s %9s %9s %7sk %7sk\n' "$name" \
            "$(whole "$rr")" "$(whole "$ro")" \
            "$1" "$2-$3" \
            "$(median "$BENCH_OUT/$name.ref.runs" 2)" "$(median "$BENCH_OUT/$name.ours.runs" 2)" \
            "$(median "$BENCH_OUT/$name.ref.runs" 3)" "$(median "$BENCH_OUT/$name.ours.runs" 3)"
    done
    limited=
    for name in $scenarios; do
        if has_limit "$name"; then limited="$limited $name"; fi
    done
    if [ -n "$limited" ]; then
        echo
        echo "the physical limit, bench/limit (no library; one read and one write per"
        echo "request), in the same rounds; x/limit is the median (and range) of the"
        echo "per-round ratios.  CPU us and syscalls (perf) per request, as below:"
        printf '%-12s %11s %9s %11s %10s %11s %7s %8s\n' scenario "limit req/s" \
            ref/limit "(range)" ours/limit "(range)" "CPU us" syscalls
        for name in $limited; do
            # shellcheck disable=SC2046
            set -- $(paired "$name" limit ref) $(paired "$name" limit ours)
            printf '%-12s %11s %9s %11s %10s %11s %7s %8s\n' "$name" \
                "$(whole "$(median "$BENCH_OUT/$name.limit.runs" 1)")" "$1" "$2-$3" "$4" "$5-$6" \
                "$(median "$BENCH_OUT/$name.limit.runs" 4)" \
                "$(count_total "$BENCH_OUT/$name.limit.perf")"
        done
    fi
    echo
    echo "per request, in the app process:"
    printf '%-12s %-24s | %-33s | %s\n' "" "  CPU us" "  syscalls (perf)   (strace)" \
        "   instructions"
    printf '%-12s %8s %8s %6s | %7s %7s   %7s %7s | %9s %9s %6s\n' scenario \
        ref ours ratio ref ours ref ours ref ours ratio
    for name in $scenarios; do
        cr=$(median "$BENCH_OUT/$name.ref.runs" 4)
        co=$(median "$BENCH_OUT/$name.ours.runs" 4)
        ir=$(val "$BENCH_OUT/$name.ref.ir")
        io=$(val "$BENCH_OUT/$name.ours.ir")
        printf '%-12s %8s %8s %6s | %7s %7s   %7s %7s | %9s %9s %6s\n' "$name" \
            "$cr" "$co" "$(ratio "$cr" "$co")" \
            "$(count_total "$BENCH_OUT/$name.ref.perf")" "$(count_total "$BENCH_OUT/$name.ours.perf")" \
            "$(count_total "$BENCH_OUT/$name.ref.strace")" "$(count_total "$BENCH_OUT/$name.ours.strace")" \
            "$ir" "$io" "$(ratio "$ir" "$io")"
    done
    echo
    echo "CPU: on-CPU time of all the app's threads (schedstat) in a timed run,"
    echo "after a warm-up run, divided by its responses.  syscalls and instructions:"
    echo "(count for app -n N2 - count for app -n N1) / (N2 - N1).  perf counts"
    echo "natively; strace slows every call, so more reads find their data waiting."
    echo "callgrind ran with glibc's rep-movsb threshold raised, for both libraries."
    if [ "$use_perf" = yes ] || [ "$use_strace" = yes ]; then
        echo
        echo "system calls per request, by call:"
        for name in $scenarios; do
            echo "  $name"
            for tool in perf strace; do
                for lib in ref ours; do
                    [ -s "$BENCH_OUT/$name.$lib.$tool" ] || continue
                    printf '    %-4s %-6s %s\n' "$lib" "$tool" \
                        "$(count_list "$BENCH_OUT/$name.$lib.$tool")"
                done
            done
        done
    fi
    if [ "$use_callgrind" = yes ] && have callgrind_annotate; then
        for name in $scenarios; do
            scenario "$name"
            rr=$(median "$BENCH_OUT/$name.ref.runs" 1)
            ro=$(median "$BENCH_OUT/$name.ours.runs" 1)
            slower=$(awk -v a="$rr" -v b="$ro" 'BEGIN { print (b < a) ? "yes" : "no" }')
            [ "$slower" = yes ] || continue
            echo
            echo "ours is slower on $name; its instructions per request by function"
            echo "(callgrind self Ir, -n $n2 minus -n $n1):"
            top_functions "$name" ours | sed 's/^/  /'
        done
    fi
    if [ -s "$BENCH_OUT/failures.txt" ]; then
        echo
        echo "FAILED runs (left out of the figures above):"
        sed 's/^/  /' "$BENCH_OUT/failures.txt"
    fi
    echo
    echo "logs, counts and callgrind files: $BENCH_OUT"
}

report | tee "$BENCH_OUT/table.txt"
