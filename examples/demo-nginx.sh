#!/bin/sh
# demo-nginx.sh [APP]: serve APP (default examples/echo) behind a private
# nginx on a loopback port, print the URL and one response, then stop
# both.  Run by `make demo-nginx` from the top build directory; needs
# nginx and curl (.ci/servers-deps installs them).  Nothing outside a
# temporary directory is touched.
set -u
PATH=$PATH:/usr/sbin:/sbin

app=${1:-examples/echo}
srvtool=${SRVTOOL:-tests/servers/srvtool}
for prog in nginx curl; do
    command -v $prog >/dev/null 2>&1 || {
        echo "demo-nginx: $prog is not installed: run .ci/servers-deps (as root)" >&2
        exit 1
    }
done
[ -x "$app" ] || { echo "demo-nginx: $app is not built (make check builds it)" >&2; exit 1; }
[ -x "$srvtool" ] || { echo "demo-nginx: $srvtool is not built" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-demo-nginx.XXXXXX") || exit 1
chmod 755 "$dir"
pids=
cleanup() {
    for pid in $pids; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

port=$("$srvtool" port 127.0.0.1) || exit 1

# The application listens on a Unix socket that nginx's workers (nobody,
# when nginx starts as root) may connect to.
(umask 0; FCGI_LISTEN_ADDR=$dir/app.sock exec "$app") 2>"$dir/app.log" &
pids="$pids $!"
"$srvtool" wait "$dir/app.sock" 10 || exit 1

user=
[ "$(id -u)" -eq 0 ] && user="user nobody nogroup;"
cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
$user
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    fastcgi_temp_path $dir/fastcgi;
    proxy_temp_path $dir/proxy;
    scgi_temp_path $dir/scgi;
    uwsgi_temp_path $dir/uwsgi;
    server {
        listen 127.0.0.1:$port;
        location / {
            fastcgi_param QUERY_STRING    \$query_string;
            fastcgi_param REQUEST_METHOD  \$request_method;
            fastcgi_param CONTENT_TYPE    \$content_type;
            fastcgi_param CONTENT_LENGTH  \$content_length;
            fastcgi_param SCRIPT_NAME     \$fastcgi_script_name;
            fastcgi_param REQUEST_URI     \$request_uri;
            fastcgi_param SERVER_PROTOCOL \$server_protocol;
            fastcgi_param REMOTE_ADDR     \$remote_addr;
            fastcgi_param SERVER_PORT     \$server_port;
            fastcgi_pass unix:$dir/app.sock;
        }
    }
}
EOF
nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" &
pids="$pids $!"
"$srvtool" wait 127.0.0.1:$port 10 || { cat "$dir/error.log" >&2; exit 1; }

url=http://127.0.0.1:$port/demo?greeting=hello
echo "$app is served by nginx at $url (nginx -> unix:$dir/app.sock)"
echo "\$ curl -d 'Hello, FastCGI!' '$url'"
curl -sS --max-time 10 -d 'Hello, FastCGI!' "$url"
status=$?
echo
echo "(stopping nginx and $app)"
exit $status
