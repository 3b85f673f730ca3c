#!/bin/sh
# demo.sh APP: serve APP on a Unix socket in a temporary directory, send it
# one POST request through cgi-fcgi and print the response.  Run by
# `make demo` from the top build directory.
set -u

app=${1:-examples/echo}
cgi_fcgi=cgi-fcgi/cgi-fcgi
[ -x "$cgi_fcgi" ] || cgi_fcgi=$(command -v cgi-fcgi) || {
    echo "demo: no cgi-fcgi (build it, or install libfcgi-bin)" >&2
    exit 1
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-demo.XXXXXX") || exit 1
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

FCGI_LISTEN_ADDR=$dir/sock "$app" &
pid=$!
tries=0
while [ ! -S "$dir/sock" ] && [ "$tries" -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
if [ ! -S "$dir/sock" ]; then
    echo "demo: $app did not start listening on $dir/sock" >&2
    exit 1
fi

body='Hello, FastCGI!'
echo "\$ echo '$body' | REQUEST_METHOD=POST ... cgi-fcgi -bind -connect $dir/sock"
printf '%s\n' "$body" |
    env -i REQUEST_METHOD=POST SCRIPT_NAME=/demo QUERY_STRING=x=1 \
        CONTENT_TYPE=text/plain CONTENT_LENGTH=$((${#body} + 1)) \
        timeout 10 "$cgi_fcgi" -bind -connect "$dir/sock"
