#!/bin/sh
# args.sh: the command line.  Bad arguments give the reference's messages,
# in its order, its usage text on stderr and exit 1 (compared with
# /usr/bin/cgi-fcgi when it is installed); the new options reject bad
# values the same way.
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99

usage='Usage:
    cgi-fcgi -f <cmdPath> , or
    cgi-fcgi -connect <connName> <appPath> [<nServers>] , or
    cgi-fcgi -start -connect <connName> <appPath> [<nServers>] , or
    cgi-fcgi -bind -connect <connName> ,
where <connName> is either the pathname of a UNIX domain socket
or (if -bind is given) a hostName:portNumber specification
or (if -start is given) a :portNumber specification (uses local host).'

# bad NAME EXPECTED-FIRST-LINES ARGS...: exit 1, nothing on stdout, stderr
# is EXPECTED-FIRST-LINES followed by the usage text.
bad() {
    name=$1
    msgs=$2
    shift 2
    cgi "$@" </dev/null >out 2>err
    rc=$?
    if [ -n "$msgs" ]; then
        printf '%s\n%s\n' "$msgs" "$usage" >want
    else
        printf '%s\n' "$usage" >want
    fi
    if [ "$rc" -ne 1 ]; then
        fail "$name: exit status $rc, expected 1"
    elif [ -s out ]; then
        fail "$name: wrote to stdout"
    elif ! cmp -s want err; then
        fail "$name: unexpected stderr:"
        diff want err >&2
    else
        pass "$name"
    fi
}

bad "no arguments" 'Missing application pathname
Missing -connect <connName>'
bad "-f without a file" 'Missing command file name after -f' -f
bad "-f missing file" "Cannot open command file $tmp/none" -f "$tmp/none"
bad "-bind alone" 'Missing -connect <connName>' -bind
bad "-connect without a name" 'Missing connection name after -connect
Missing application pathname
Missing -connect <connName>' -connect
bad "-start without an application" 'Missing application pathname' -start -connect "$tmp/s"
bad "zero servers" 'Number of servers must be greater than 0' \
    -start -connect "$tmp/s" /bin/true 0
bad "servers not a number" 'Unknown argument abc' -start -connect "$tmp/s" /bin/true abc
bad "too many arguments" 'Unknown argument 3' -start -connect "$tmp/s" /bin/true 2 3
bad "unknown options" 'Unknown option -bogus
Unknown option -bogus2
Missing application pathname
Missing -connect <connName>' -bogus -bogus2
bad "stray arguments" 'Unknown argument b
Unknown argument c
Missing -connect <connName>' a b c
bad "-connect takes the next word" 'Missing application pathname' -connect -bind
printf '# a comment\n-bind -connect %s a 1 x\n' "$tmp/s" >cmdfile
bad "errors in a command file" 'Unknown argument x' -f cmdfile

# New options: same shape of error.
bad "-timeout without seconds" 'Missing seconds after -timeout' -bind -connect "$tmp/s" -timeout
bad "-timeout 0" 'Invalid -timeout 0 (seconds, more than 0)' -bind -connect "$tmp/s" -timeout 0
bad "-timeout word" 'Invalid -timeout soon (seconds, more than 0)' -timeout soon -bind -connect "$tmp/s"
bad "-param without value" 'Missing NAME=VALUE after -param' -bind -connect "$tmp/s" -param
bad "-param without =" 'Invalid -param FOO (NAME=VALUE expected)' -bind -connect "$tmp/s" -param FOO
bad "-param without name" 'Invalid -param =x (NAME=VALUE expected)' -param =x -bind -connect "$tmp/s"
bad "-supervise without -start" '-supervise needs -start' -supervise -bind -connect "$tmp/s"
bad "-recycle without a number" 'Missing number of requests after -recycle' \
    -start -supervise -connect "$tmp/s" /bin/true -recycle
bad "-recycle 0" 'Invalid -recycle 0 (requests, 1 to 2147483647)' \
    -start -supervise -recycle 0 -connect "$tmp/s" /bin/true
bad "-recycle word" 'Invalid -recycle often (requests, 1 to 2147483647)' \
    -start -supervise -recycle often -connect "$tmp/s" /bin/true
bad "-recycle negative" 'Invalid -recycle -5 (requests, 1 to 2147483647)' \
    -start -supervise -recycle -5 -connect "$tmp/s" /bin/true
bad "-recycle too large" 'Invalid -recycle 2147483648 (requests, 1 to 2147483647)' \
    -start -supervise -recycle 2147483648 -connect "$tmp/s" /bin/true
bad "-recycle without -supervise" '-recycle needs -start -supervise' \
    -start -recycle 5 -connect "$tmp/s" /bin/true
bad "-start with -bind" 'Use -start or -bind, not both' -start -bind -connect "$tmp/s" /bin/true
bad "-start with -values" '-values, -timeout and -param need -bind or -connect without -start' \
    -start -values -connect "$tmp/s" /bin/true
bad "too many servers" 'Number of servers must be at most 1024' \
    -start -connect "$tmp/s" /bin/true 5000
printf -- '-f %s\n' "$tmp/loop" >"$tmp/loop"
bad "-f loop" "Too many nested -f command files at $tmp/loop" -f "$tmp/loop"

# The same cases through the reference: our stderr and status must be its.
if [ -x "$REFERENCE" ]; then
    for args in "" "-f" "-bind" "-connect" "-bind -connect" "-start -connect s" \
        "-start -connect s /bin/true 0" "-start -connect s /bin/true abc" \
        "-start -connect s /bin/true 2 3" "-bogus" "foo" "a b c" "a 0" "a 0 -bogus" \
        "-bogus -bogus2" "-connect -bind" "-bind a b" "-bind -connect s a 00" \
        "-bind -connect s a +3" "-connect x a 1 -f" "-f nonexistent"; do
        # shellcheck disable=SC2086 # word splitting wanted
        timeout 10 "$REFERENCE" $args </dev/null >ref.out 2>ref.err
        ref_rc=$?
        # shellcheck disable=SC2086
        cgi $args </dev/null >our.out 2>our.err
        our_rc=$?
        if [ "$ref_rc" -ne "$our_rc" ] || ! cmp -s ref.out our.out || ! cmp -s ref.err our.err; then
            fail "as the reference: '$args': status $our_rc (reference $ref_rc)"
            diff ref.err our.err >&2
        else
            pass "as the reference: '$args'"
        fi
    done
else
    echo "note: $REFERENCE is not installed; reference comparison skipped"
fi

finish
