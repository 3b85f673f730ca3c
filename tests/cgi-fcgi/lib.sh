# lib.sh: shared by the cgi-fcgi tests (sourced, not run).
#
# Gives each test a private directory ($tmp), the programs under test
# ($CGI_FCGI, $APP, $RAWAPP), a bounded way to run cgi-fcgi (cgi), start
# helpers that are always stopped again, and a failure counter (fail,
# finish).  Under `make check-valgrind` (VALGRIND set) every cgi-fcgi run
# goes through valgrind memcheck and any error or leak fails the test.

set -u

if [ -f ./tests/support/env.sh ]; then
    . ./tests/support/env.sh
fi
: "${top_srcdir:=${srcdir:-.}}"
: "${top_builddir:=.}"

CGI_FCGI=$top_builddir/cgi-fcgi/cgi-fcgi
APP=$top_builddir/tests/cgi-fcgi/app
RAWAPP=$top_builddir/tests/cgi-fcgi/rawapp
REFERENCE=/usr/bin/cgi-fcgi
for f in "$CGI_FCGI" "$APP" "$RAWAPP"; do
    if [ ! -x "$f" ]; then
        echo "$0: $f is missing (make check builds it)" >&2
        exit 99
    fi
done
# Absolute paths: cgi-fcgi -start needs them, and tests change directory.
CGI_FCGI=$(cd "$(dirname "$CGI_FCGI")" && pwd)/cgi-fcgi
APP=$(cd "$(dirname "$APP")" && pwd)/app
RAWAPP=$(cd "$(dirname "$RAWAPP")" && pwd)/rawapp

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgi-fcgi-test.XXXXXX") || exit 99
# Every app copy writes its pid here (see app.c); cleanup stops them.
APP_PIDDIR=$tmp/pids
mkdir "$APP_PIDDIR"
export APP_PIDDIR
helper_pids=
failures=0

# Seconds, stretched under valgrind.
slow=1
if [ -n "${VALGRIND:-}" ]; then
    slow=4
fi

# wait_until SECONDS COMMAND...: COMMAND succeeds within SECONDS (x slow).
wait_until() {
    limit=$(($1 * 10 * slow))
    shift
    i=0
    until "$@"; do
        [ "$i" -ge "$limit" ] && return 1
        sleep 0.1
        i=$((i + 1))
    done
}

cleanup() {
    for f in "$APP_PIDDIR"/*; do
        [ -e "$f" ] && kill -KILL "${f##*/}" 2>/dev/null
    done
    for p in $helper_pids; do
        kill "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' HUP INT PIPE TERM

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

pass() {
    echo "ok: $*"
}

# cgi ARGS...: runs cgi-fcgi (under valgrind when asked) with a hard limit
# of 60 s.  The limit is enforced with --preserve-status so that a hang
# shows as 143, never as cgi-fcgi's own 124.
VG_FLAGS="-q --error-exitcode=197 --leak-check=full
    --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible
    --child-silent-after-fork=yes"
cgi() {
    if [ -n "${VALGRIND:-}" ]; then
        # shellcheck disable=SC2086 # VALGRIND and VG_FLAGS are word lists
        timeout --preserve-status -k 5 120 \
            "$top_builddir/libtool" --mode=execute $VALGRIND $VG_FLAGS \
            --log-file="$tmp/valgrind.%p.log" "$CGI_FCGI" "$@"
    else
        timeout --preserve-status -k 5 60 "$CGI_FCGI" "$@"
    fi
}

# cgi_clean NAME=VALUE... -- ARGS...: cgi with exactly the environment
# NAME=VALUE... (env -i).  cgi-fcgi is a plain executable, so valgrind runs
# it directly: libtool would need PATH.
cgi_clean() {
    n=$#
    while [ "$n" -gt 0 ]; do
        a=$1
        shift
        n=$((n - 1))
        if [ "$a" != -- ]; then
            set -- "$@" "$a"
        elif [ -n "${VALGRIND:-}" ]; then
            # shellcheck disable=SC2086
            set -- "$@" timeout --preserve-status -k 5 120 $VALGRIND $VG_FLAGS \
                --log-file="$tmp/valgrind.%p.log" "$CGI_FCGI"
        else
            set -- "$@" timeout --preserve-status -k 5 60 "$CGI_FCGI"
        fi
    done
    env -i "$@"
}

# expect_status WHAT EXPECTED ACTUAL
expect_status() {
    if [ "$3" -eq "$2" ]; then
        pass "$1: exit $3"
    else
        fail "$1: exit status $3, expected $2"
    fi
}

# expect_grep WHAT FILE PATTERN: FILE has a line matching PATTERN.
expect_grep() {
    if grep -q -e "$3" "$2"; then
        pass "$1"
    else
        fail "$1: no line matching '$3' in:"
        sed 's/^/    /' "$2" | head -20 >&2
    fi
}

# wait_for_socket PATH: a socket file appears within 10 s.
wait_for_socket() {
    i=0
    while [ ! -S "$1" ] && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -S "$1" ]
}

# alive PID: the process runs (a zombie does not: an orphan's parent may
# be slow to reap it).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/stat" ]; then
        state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
        [ "$state" != Z ] || return 1
    fi
    return 0
}

# app_count: how many app processes are alive.
app_count() {
    n=0
    for f in "$APP_PIDDIR"/*; do
        [ -e "$f" ] && alive "${f##*/}" && n=$((n + 1))
    done
    echo "$n"
}

# wait_for_apps N: N app processes have started within 10 s.
wait_for_apps() {
    i=0
    while [ "$(app_count)" -lt "$1" ] && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(app_count)" -ge "$1" ]
}

# stop_apps: stops every app copy and waits until they are gone.  SIGKILL:
# libfcgi turns SIGTERM into "stop after this request", and a test may
# leave a request sleeping.
stop_apps() {
    for f in "$APP_PIDDIR"/*; do
        [ -e "$f" ] && kill -KILL "${f##*/}" 2>/dev/null
    done
    i=0
    while [ "$(app_count)" -gt 0 ] && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    rm -f "$APP_PIDDIR"/*
}

# start_rawapp SOCKET SCENARIO [REPORT]: rawapp in the background.
start_rawapp() {
    rm -f "$1"
    "$RAWAPP" "$@" &
    helper_pids="$helper_pids $!"
    wait_for_socket "$1"
}

# start_tcp_app HOST [N]: starts N copies of the app (default 1) with
# cgi-fcgi -start on HOST and a random free port; prints the port.
start_tcp_app() {
    tries=0
    while [ "$tries" -lt 20 ]; do
        tries=$((tries + 1))
        port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 + 20000 ))
        cgi -start -connect "$1:$port" "$APP" "${2:-1}" 2>"$tmp/start-tcp.err"
        rc=$?
        if [ "$rc" -eq 0 ]; then
            wait_for_apps "${2:-1}" || return 1
            echo "$port"
            return 0
        fi
        [ "$rc" -eq 98 ] || break
    done
    cat "$tmp/start-tcp.err" >&2
    return 1
}

# has_ipv6: ::1 can be bound.
has_ipv6() {
    [ -f /proc/net/if_inet6 ] && grep -q '^00000000000000000000000000000001' /proc/net/if_inet6
}

# strip_tool_env: drops the variables valgrind adds to the environment of
# the program it runs (cgi-fcgi forwards them) from an app response.
# Valgrind also reorders the environment, so its lines are then sorted:
# the order is checked by the runs without valgrind.
strip_tool_env() {
    if [ -n "${VALGRIND:-}" ]; then
        grep -v -e '^LD_PRELOAD=' -e '^LD_LIBRARY_PATH=' -e '^GLIBCPP_FORCE_NEW=' \
            -e '^GLIBCXX_FORCE_NEW=' -e '^PWD=' | LC_ALL=C sort
    else
        cat
    fi
}

# finish: valgrind reports are failures; exit 0 or 1.
finish() {
    if [ -n "${VALGRIND:-}" ]; then
        for log in "$tmp"/valgrind.*.log; do
            [ -e "$log" ] || continue
            if [ -s "$log" ]; then
                fail "valgrind reported errors:"
                cat "$log" >&2
            fi
        done
    fi
    if [ "$failures" -gt 0 ]; then
        echo "$failures failure(s)" >&2
        exit 1
    fi
    exit 0
}
