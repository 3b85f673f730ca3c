#!/bin/sh
# probe.sh: -values sends FCGI_GET_VALUES and prints FCGI_MAX_CONNS,
# FCGI_MAX_REQS and FCGI_MPXS_CONNS as NAME=VALUE lines, exit 0; an answer
# it cannot use exits 253, no answer within -timeout 124.  Also the
# health-check recipe of the manual page.
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99
S=$tmp/app.sock

cgi -start -connect "$S" "$APP"
wait_for_apps 1 || fail "the application did not start"

# Our libfcgi answers GET_VALUES sent on its own.
cgi -values -bind -connect "$S" </dev/null >out 2>err
expect_status "-values over a Unix socket" 0 $?
printf 'FCGI_MAX_CONNS=1\nFCGI_MAX_REQS=1\nFCGI_MPXS_CONNS=0\n' >want
cmp -s want out && pass "-values output" || { fail "-values output:"; cat out >&2; }
[ -s err ] && fail "-values wrote to stderr: $(cat err)"
# The probe did not cost the application its next request.
QUERY_STRING=status=9 cgi -bind -connect "$S" </dev/null >/dev/null
expect_status "a request after the probe" 9 $?

# The recipe of cgi-fcgi(1): a status request, the body after the headers.
SCRIPT_NAME=/status SCRIPT_FILENAME=/status REQUEST_METHOD=GET QUERY_STRING=param=SCRIPT_NAME \
    cgi -bind -connect "$S" </dev/null >out
expect_status "health check" 0 $?
[ "$(sed '1,/^\r*$/d' out)" = /status ] && pass "health check body" || fail "health check body"
stop_apps

if port=$(start_tcp_app 127.0.0.1 2); then
    cgi -values -timeout 10 -bind -connect "127.0.0.1:$port" </dev/null >out
    expect_status "-values over TCP" 0 $?
    expect_grep "-values over TCP output" out '^FCGI_MPXS_CONNS=0$'
else
    fail "-start on 127.0.0.1"
fi
stop_apps

# -connect mode starts the application for a probe too.
cgi -values -connect "$S" "$APP" </dev/null >out
expect_status "-values -connect starting the application" 0 $?
expect_grep "-values -connect output" out '^FCGI_MAX_REQS=1$'
stop_apps

# Answers from rawapp: out of order, an extra name, one byte per write.
start_rawapp "$tmp/raw.sock" values || fail "rawapp did not start"
cgi -values -bind -connect "$tmp/raw.sock" </dev/null >out 2>err
expect_status "-values, answer split and out of order" 0 $?
wait
printf 'FCGI_MAX_CONNS=10\nFCGI_MAX_REQS=50\nFCGI_MPXS_CONNS=1\n' >want
cmp -s want out && pass "-values prints the asked names in order" ||
    { fail "-values prints the asked names in order:"; cat out >&2; }

start_rawapp "$tmp/raw.sock" values-unknown || fail "rawapp did not start"
cgi -values -bind -connect "$tmp/raw.sock" </dev/null >out 2>err
expect_status "-values, FCGI_UNKNOWN_TYPE" 253 $?
expect_grep "-values, FCGI_UNKNOWN_TYPE message" err 'does not support FCGI_GET_VALUES'
wait

start_rawapp "$tmp/raw.sock" values-bad || fail "rawapp did not start"
cgi -values -bind -connect "$tmp/raw.sock" </dev/null >out 2>err
expect_status "-values, malformed pairs" 253 $?
expect_grep "-values, malformed pairs message" err 'malformed name-value pairs'
[ -s out ] && fail "-values printed something from a malformed answer"
wait

# An application that never answers (as the reference libfcgi does with a
# lone GET_VALUES): only -timeout ends the wait.
start_rawapp "$tmp/raw.sock" silent || fail "rawapp did not start"
cgi -values -timeout $((1 * slow)) -bind -connect "$tmp/raw.sock" </dev/null >out 2>err
expect_status "-values, no answer" 124 $?
expect_grep "-values, no answer message" err 'timed out after'
wait

finish
