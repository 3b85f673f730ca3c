#!/bin/sh
# malformed.sh: responses no correct application sends.  Each makes
# cgi-fcgi exit 253 (254 for a foreign protocol version, as the reference)
# with a message saying what was wrong, after passing on the output that
# came before it.
. "$(dirname "$0")/lib.sh"

cd "$tmp" || exit 99

# scenario NAME EXPECTED-STATUS [MESSAGE-PATTERN]: rawapp answers as NAME.
scenario() {
    start_rawapp "$tmp/raw.sock" "$1" || fail "$1: rawapp did not start"
    QUERY_STRING= cgi -bind -connect "$tmp/raw.sock" </dev/null >out 2>err
    rc=$?
    wait
    expect_status "$1" "$2" "$rc"
    [ -z "$3" ] || expect_grep "$1: message" err "$3"
}

scenario truncated 253 '^cgi-fcgi: the application closed the connection before the end of the response$'
expect_grep "truncated: output so far passed on" out '^partial$'
scenario midrecord 253 'closed the connection before the end of the response'
expect_grep "midrecord: the part received passed on" out '^012345$'
scenario version 254 '^cgi-fcgi: malformed response from the application: a record has an unsupported FastCGI version$'
scenario wrongid 253 'malformed response from the application: a record has the wrong request id$'
scenario badtype 253 'malformed response from the application: a record has a type an application may not send$'
scenario endshort 253 'malformed response from the application: a fixed-size record has the wrong length$'
scenario overloaded 253 '^cgi-fcgi: the application refused the request: FCGI_OVERLOADED$'
scenario unknowntype 253 'malformed response from the application: a management record nobody asked for$'
scenario aftereos 253 'malformed response from the application: output after the end of its stream$'

# The well-formed control: the same stand-in, a normal answer.
scenario ok 0 ''
printf 'ok\n' | cmp -s - out && pass "ok: output" || fail "ok: output"
[ -s err ] && fail "ok: wrote to stderr"

finish
