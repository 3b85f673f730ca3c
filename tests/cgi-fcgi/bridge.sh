#!/bin/sh
# bridge.sh: ordinary requests.  The environment arrives as parameters,
# stdin as the body (never more than CONTENT_LENGTH), stdout and stderr are
# the application's, the exit status is its status; -param, -f and #!
# scripts; Unix paths, abstract sockets, 127.0.0.1 and [::1].
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99
S=$tmp/app.sock
crlf=$(printf '\r')

cgi -start -connect "$S" "$APP" 2
expect_status "-start on a Unix path" 0 $?
wait_for_apps 2 || fail "the two application processes did not start"

# Parameters and body, exactly.
printf 'hello world' | cgi_clean FOO=bar 'SPACED=a b  c' EMPTY= CONTENT_LENGTH=11 \
    QUERY_STRING= -- -bind -connect "$S" >out 2>err
rc=$?
printf 'Content-type: text/plain\r\n\r\nFCGI_ROLE=RESPONDER\nFOO=bar\nSPACED=a b  c\nEMPTY=\nCONTENT_LENGTH=11\nQUERY_STRING=\nSTDIN-LENGTH=11\nhello world' | strip_tool_env >want
strip_tool_env <out >got
expect_status "echo request" 0 "$rc"
if cmp -s want got; then pass "environment and body forwarded"; else
    fail "environment and body forwarded:"; diff want got >&2; fi
[ -s err ] && fail "echo request wrote to stderr: $(cat err)"

# The application's status is the exit status (modulo 256, as exit(3)).
QUERY_STRING=status=7 cgi -bind -connect "$S" </dev/null >/dev/null
expect_status "status 7" 7 $?
QUERY_STRING=status=300 cgi -bind -connect "$S" </dev/null >/dev/null
expect_status "status 300" 44 $?

# FCGI_STDERR goes to stderr, FCGI_STDOUT to stdout.
QUERY_STRING='stderr=to-the-log&param=FCGI_ROLE' cgi -bind -connect "$S" </dev/null >out 2>err
expect_status "stderr request" 0 $?
expect_grep "stderr forwarded" err '^to-the-log$'
expect_grep "stdout beside stderr" out '^RESPONDER$'
grep -q to-the-log out && fail "stderr text on stdout"

# The body is CONTENT_LENGTH bytes of stdin, not one more: the rest stays
# for whoever reads stdin next.  Less input than promised ends the body.
printf '0123456789' | {
    CONTENT_LENGTH=4 QUERY_STRING=body cgi -bind -connect "$S" >out
    echo "rc=$?" >rc
    cat >rest
}
printf 'Content-type: text/plain\r\n\r\n0123' >want
if cmp -s want out && [ "$(cat rest)" = 456789 ] && [ "$(cat rc)" = rc=0 ]; then
    pass "body bounded by CONTENT_LENGTH"
else
    fail "body bounded by CONTENT_LENGTH: $(cat rc), body '$(tail -c +29 out)', left '$(cat rest)'"
fi
printf 'abc' | CONTENT_LENGTH=20 QUERY_STRING=body cgi -bind -connect "$S" >out
rc=$?
printf 'Content-type: text/plain\r\n\r\nabc' >want
if [ "$rc" -eq 0 ] && cmp -s want out; then pass "short body"; else fail "short body: exit $rc"; fi
printf 'abc' | {
    unset CONTENT_LENGTH
    QUERY_STRING= cgi -bind -connect "$S" >out
    cat >rest
}
if grep -q '^STDIN-LENGTH=0' out && [ "$(cat rest)" = abc ]; then
    pass "no CONTENT_LENGTH, no body"
else
    fail "no CONTENT_LENGTH, no body: left '$(cat rest)'"
fi
for cl in 'abc' '-5'; do
    printf 'abc' | CONTENT_LENGTH=$cl QUERY_STRING= cgi -bind -connect "$S" >out
    if grep -q '^STDIN-LENGTH=0' out; then pass "CONTENT_LENGTH=$cl: no body"; else
        fail "CONTENT_LENGTH=$cl: no body"; fi
done

# -param adds, overrides (the last one wins), and keeps '=' in values.
FOO=from-env QUERY_STRING=param=FOO cgi -param FOO=x -bind -connect "$S" </dev/null >out
expect_grep "-param overrides the environment" out '^x$'
QUERY_STRING=param=NEWVAR cgi -bind -param NEWVAR=1 -param NEWVAR=2 -connect "$S" </dev/null >out
expect_grep "-param adds, the last wins" out '^2$'
QUERY_STRING=param=EQ cgi -bind -connect "$S" -param 'EQ=a=b' </dev/null >out
expect_grep "-param value with =" out '^a=b$'
QUERY_STRING=param=E cgi -bind -connect "$S" -param 'E=' </dev/null >out
if [ "$(tail -n 1 out)" = "" ] && [ "$(wc -l <out)" -eq 3 ]; then pass "-param empty value"; else
    fail "-param empty value"; fi
printf 'abcdef' | CONTENT_LENGTH=6 cgi -param CONTENT_LENGTH=3 -param QUERY_STRING=body \
    -bind -connect "$S" >out
printf 'Content-type: text/plain\r\n\r\nabc' >want
if cmp -s want out; then pass "-param CONTENT_LENGTH bounds the body"; else
    fail "-param CONTENT_LENGTH bounds the body"; fi
cgi_clean -- -param QUERY_STRING=status=5 -bind -connect "$S" </dev/null >/dev/null
expect_status "-param sets the request" 5 $?
QUERY_STRING=param=FCGI_ROLE cgi -param FCGI_ROLE=bogus -bind -connect "$S" </dev/null >out
expect_grep "FCGI_ROLE is the library's" out '^RESPONDER$'

# -f: arguments from a file, '#' lines skipped, lines do not matter; the
# arguments after -f are ignored, as the reference ignores them.
printf '# the socket\n-bind\n\n-connect\n%s\n#-start\n' "$S" >cmdfile
QUERY_STRING=param=FCGI_ROLE cgi -f cmdfile -ignored args </dev/null >out
rc=$?
expect_status "-f" 0 "$rc"
expect_grep "-f bridges" out '^RESPONDER$'
printf -- '-param\tFROM=file -bind -connect %s' "$S" >cmdfile2   # no final newline
QUERY_STRING=param=FROM cgi -bind -f cmdfile2 </dev/null >out
expect_grep "-f with tabs, no final newline, and an option before it" out '^file$'
printf -- '-f %s\n' "$tmp/cmdfile" >cmdfile3
QUERY_STRING=param=FCGI_ROLE cgi -f cmdfile3 </dev/null >out
expect_grep "-f naming another -f file" out '^RESPONDER$'

# As a #! interpreter (run directly, not under valgrind).
if [ ${#CGI_FCGI} -lt 200 ]; then
    printf '#!%s -f\n-bind -connect %s\n' "$CGI_FCGI" "$S" >script.fcgi
    chmod +x script.fcgi
    QUERY_STRING=param=SCRIPT_ARG SCRIPT_ARG=yes timeout 20 ./script.fcgi </dev/null >out
    expect_status "#! script" 0 $?
    expect_grep "#! script bridges" out '^yes$'
fi

# -connect mode: the application already runs, so nothing is started.
before=$(app_count)
QUERY_STRING=param=FCGI_ROLE cgi -connect "$S" "$APP" </dev/null >out
expect_status "-connect to a running application" 0 $?
expect_grep "-connect to a running application answers" out '^RESPONDER$'
[ "$(app_count)" -eq "$before" ] || fail "-connect started a second application"
stop_apps

# -connect mode: nothing listens (stale socket file), so it starts the
# application with nServers copies and bridges the request.
[ -S "$S" ] || fail "the socket file went away with the application"
QUERY_STRING=param=FCGI_ROLE cgi -connect "$S" "$APP" 2 </dev/null >out
expect_status "-connect starting the application" 0 $?
expect_grep "-connect starting the application answers" out '^RESPONDER$'
wait_for_apps 2 || fail "-connect did not start 2 copies"
stop_apps

# Abstract Unix socket.
A="@cgi-fcgi-test-$$-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
cgi -start -connect "$A" "$APP"
expect_status "-start on an abstract socket" 0 $?
QUERY_STRING=param=FCGI_ROLE cgi -bind -connect "$A" </dev/null >out
expect_status "request over an abstract socket" 0 $?
expect_grep "abstract socket answers" out '^RESPONDER$'
stop_apps

# TCP: 127.0.0.1, then ::1, and host names.
if port=$(start_tcp_app 127.0.0.1); then
    pass "-start on 127.0.0.1:$port"
    printf 'tcp body' | CONTENT_LENGTH=8 QUERY_STRING=body cgi -bind -connect "127.0.0.1:$port" >out
    expect_status "request over 127.0.0.1" 0 $?
    expect_grep "127.0.0.1 answers" out '^tcp body'
    QUERY_STRING=status=3 cgi -bind -connect "localhost:$port" </dev/null >/dev/null
    expect_status "request to localhost (every address tried)" 3 $?
    QUERY_STRING=status=4 cgi -bind -connect ":$port" </dev/null >/dev/null
    expect_status "request to :port (this host)" 4 $?
else
    fail "-start on 127.0.0.1"
fi
stop_apps
if has_ipv6; then
    if port=$(start_tcp_app '[::1]'); then
        pass "-start on [::1]:$port"
        printf 'v6 body' | CONTENT_LENGTH=7 QUERY_STRING=body cgi -bind -connect "[::1]:$port" >out
        expect_status "request over ::1" 0 $?
        expect_grep "::1 answers" out '^v6 body'
    else
        fail "-start on [::1]"
    fi
    stop_apps
else
    echo "note: no ::1 here; IPv6 part skipped"
fi

# Any split of a good response: rawapp sends it one byte per write.
start_rawapp "$tmp/raw.sock" split || fail "rawapp did not start"
cgi -bind -connect "$tmp/raw.sock" </dev/null >out 2>err
expect_status "response split byte by byte" 42 $?
printf 'Status: 200\r\n\r\nsplit body\n' >want
cmp -s want out && pass "split stdout" || fail "split stdout"
expect_grep "split stderr" err '^split stderr$'

finish
