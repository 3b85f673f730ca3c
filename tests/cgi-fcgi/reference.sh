#!/bin/sh
# reference.sh: differential test.  /usr/bin/cgi-fcgi (libfcgi 2.4.2) and
# ours make the same requests to the same application with the same
# environment; stdout and the exit status must be identical, and stderr
# too where the reference prints something.  Environments stay under 8 KB,
# where the reference breaks.  Skipped (77) without the reference.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$REFERENCE" ]; then
    echo "SKIP: $REFERENCE is not installed (Debian: libfcgi-bin)"
    exit 77
fi
cd "$tmp" || exit 99
S=$tmp/app.sock

# same NAME STDIN-FILE COMPARE-STDERR NAME=VALUE... -- ARGS...
same() {
    name=$1
    input=$2
    cmp_err=$3
    shift 3
    # Ours first: cgi_clean works on its own copy of the arguments.
    cgi_clean "$@" <"$input" >our.out 2>our.err
    our_rc=$?
    # The reference, with exactly the same environment and arguments.
    n=$#
    while [ "$n" -gt 0 ]; do
        a=$1
        shift
        n=$((n - 1))
        if [ "$a" = -- ]; then
            set -- "$@" timeout 30 "$REFERENCE"
        else
            set -- "$@" "$a"
        fi
    done
    env -i "$@" <"$input" >ref.out 2>ref.err
    ref_rc=$?
    strip_tool_env <our.out >our.cmp
    strip_tool_env <ref.out >ref.cmp
    if [ "$ref_rc" -ne "$our_rc" ]; then
        fail "$name: exit status $our_rc, the reference's $ref_rc"
    elif ! cmp -s ref.cmp our.cmp; then
        fail "$name: stdout differs from the reference's"
        diff ref.cmp our.cmp | head -20 >&2
    elif [ "$cmp_err" = yes ] && ! cmp -s ref.err our.err; then
        fail "$name: stderr differs from the reference's"
        diff ref.err our.err >&2
    else
        pass "$name: as the reference (exit $our_rc, $(wc -c <our.out) bytes)"
    fi
}

cgi -start -connect "$S" "$APP" 2
wait_for_apps 2 || fail "the application did not start"

: >empty
head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n' >body  # 6000 text bytes
head -c 150000 /dev/urandom | od -An -tx1 | tr -d ' \n' >bigbody
env_7k=$(head -c 7000 /dev/zero | tr '\0' e)

same "GET" empty yes QUERY_STRING= REQUEST_METHOD=GET SCRIPT_NAME=/status -- -bind -connect "$S"
same "POST body" body yes QUERY_STRING= REQUEST_METHOD=POST CONTENT_LENGTH=6000 -- -bind -connect "$S"
same "300 KB body echoed" bigbody yes QUERY_STRING=body CONTENT_LENGTH=300000 -- -bind -connect "$S"
same "status and stderr" empty yes 'QUERY_STRING=status=7&stderr=logged' -- -bind -connect "$S"
same "status 300" empty yes 'QUERY_STRING=status=300' -- -bind -connect "$S"
same "100 KB response" empty yes QUERY_STRING=big=100000 -- -bind -connect "$S"
same "7 KB of environment" empty yes QUERY_STRING= "LARGE=$env_7k" -- -bind -connect "$S"
same "-connect to a running application" empty yes QUERY_STRING= A=1 -- -connect "$S" "$APP"
printf -- '-bind -connect %s\n' "$S" >cmd
same "-f command file" empty yes QUERY_STRING=param=FCGI_ROLE -- -f "$tmp/cmd"
same "missing socket path" empty yes QUERY_STRING= -- -bind -connect "$tmp/missing"
# The reference says nothing about a crash; ours explains, same status.
same "crash" empty no QUERY_STRING=crash -- -bind -connect "$S"
stop_apps
same "refused" empty yes QUERY_STRING= -- -bind -connect "$S"

if port=$(start_tcp_app 127.0.0.1); then
    same "TCP" body yes QUERY_STRING= CONTENT_LENGTH=6000 -- -bind -connect "127.0.0.1:$port"
else
    fail "-start on 127.0.0.1"
fi
stop_apps

finish
