# tests/servers/: the library behind real web servers (nginx, lighttpd,
# Apache mod_proxy_fcgi, spawn-fcgi, HAProxy, and HAProxy multiplexing
# requests over shared connections: haproxy-mpx.sh), scaled out behind one
# nginx upstream, and under cgi-fcgi -supervise behind nginx while
# workers are killed, replaced and recycled (supervise-nginx.sh).
# .ci/servers-deps installs the servers; a missing one fails its test
# ("run .ci/servers-deps") unless FCGI_SKIP_SERVERS=1, which turns it
# into a skip.  Each test runs its servers from private configs in a
# temporary directory, on loopback addresses and Unix sockets only, and
# stops them by pid.

check_PROGRAMS += tests/servers/webapp tests/servers/srvtool
tests_servers_webapp_SOURCES = tests/servers/webapp.c
tests_servers_webapp_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_servers_webapp_LDADD = libfcgi/libfcgi.la $(PTHREAD_LIBS)
tests_servers_srvtool_SOURCES = tests/servers/srvtool.c

SERVER_TESTS = \
	tests/servers/nginx.sh \
	tests/servers/lighttpd.sh \
	tests/servers/apache.sh \
	tests/servers/spawn-fcgi.sh \
	tests/servers/spawn-fcgi-spread.sh \
	tests/servers/haproxy.sh \
	tests/servers/haproxy-mpx.sh \
	tests/servers/scale-out.sh \
	tests/servers/supervise-nginx.sh
TESTS += $(SERVER_TESTS)


EXTRA_DIST += \
	$(SERVER_TESTS) \
	tests/servers/lib.sh \
	tests/servers/fastcgi_params.in \
	tests/servers/nginx.conf.in \
	tests/servers/scale-out.conf.in \
	tests/servers/supervise-nginx.conf.in \
	tests/servers/lighttpd.conf.in \
	tests/servers/apache.conf.in \
	tests/servers/haproxy.cfg.in \
	tests/servers/haproxy-mpx.cfg.in \
	examples/demo-nginx.sh

# `make demo-nginx`: examples/echo behind a private nginx on a loopback
# port; prints the URL and one response, then stops both.
.PHONY: demo-nginx
demo-nginx: all examples/echo$(EXEEXT) tests/servers/srvtool$(EXEEXT)
	SRVTOOL=tests/servers/srvtool $(SHELL) $(srcdir)/examples/demo-nginx.sh examples/echo
