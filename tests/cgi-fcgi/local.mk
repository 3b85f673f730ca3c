# tests/cgi-fcgi: the cgi-fcgi tool and the client side of the codec.
#   check_client  white-box checks of libfcgi/proto/client (wire bytes,
#                 record splitting, the response decoder at every split)
#   *.sh          integration tests (one concern per script, see each
#                 header) of cgi-fcgi against app.c, an echo application
#                 linked with our libfcgi, over Unix paths, abstract
#                 sockets, 127.0.0.1 and ::1; rawapp.c answers with
#                 hand-made records; supervise.sh runs notify-recv.c as
#                 the NOTIFY_SOCKET listener; reference.sh compares with
#                 /usr/bin/cgi-fcgi.  lib.sh is their shared setup; under
#                 `make check-valgrind` (VALGRIND set) they run cgi-fcgi
#                 under memcheck.
check_PROGRAMS += tests/cgi-fcgi/app tests/cgi-fcgi/rawapp tests/cgi-fcgi/check_client \
	tests/cgi-fcgi/notify-recv
tests_cgi_fcgi_app_SOURCES = tests/cgi-fcgi/app.c
tests_cgi_fcgi_app_LDADD = libfcgi/libfcgi.la
tests_cgi_fcgi_rawapp_SOURCES = tests/cgi-fcgi/rawapp.c
tests_cgi_fcgi_notify_recv_SOURCES = tests/cgi-fcgi/notify-recv.c

# Like cgi-fcgi: built without the C++ runtime, linked by the C driver.
tests_cgi_fcgi_check_client_SOURCES = tests/cgi-fcgi/check_client.cpp
tests_cgi_fcgi_check_client_CXXFLAGS = $(AM_CXXFLAGS) $(CORE_CXXFLAGS)
tests_cgi_fcgi_check_client_LDADD = libfcgi/libfcgi-core.la $(PTHREAD_LIBS)
tests_cgi_fcgi_check_client_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) \
	$(LIBTOOLFLAGS) --mode=link $(CCLD) $(AM_CFLAGS) $(CFLAGS) \
	$(AM_LDFLAGS) $(LDFLAGS) -o $@

CGI_FCGI_TESTS = \
	tests/cgi-fcgi/args.sh \
	tests/cgi-fcgi/bridge.sh \
	tests/cgi-fcgi/large.sh \
	tests/cgi-fcgi/errors.sh \
	tests/cgi-fcgi/malformed.sh \
	tests/cgi-fcgi/probe.sh \
	tests/cgi-fcgi/start.sh \
	tests/cgi-fcgi/supervise.sh \
	tests/cgi-fcgi/recycle.sh \
	tests/cgi-fcgi/reference.sh
TESTS += tests/cgi-fcgi/check_client $(CGI_FCGI_TESTS)
EXTRA_DIST += $(CGI_FCGI_TESTS) tests/cgi-fcgi/lib.sh
