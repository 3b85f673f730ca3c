# examples/: programs that show the API and that the integration tests
# (tests/stdio/examples.sh) serve.  Built by `make check` and by `make demo`.
EXAMPLE_APPS = \
	examples/echo \
	examples/echo-x \
	examples/echo-cpp \
	examples/threaded \
	examples/authorizer \
	examples/filter
check_PROGRAMS += $(EXAMPLE_APPS)

examples_echo_SOURCES = examples/echo.c
examples_echo_LDADD = libfcgi/libfcgi.la
examples_echo_x_SOURCES = examples/echo-x.c
examples_echo_x_LDADD = libfcgi/libfcgi.la
examples_authorizer_SOURCES = examples/authorizer.c
examples_authorizer_LDADD = libfcgi/libfcgi.la
examples_filter_SOURCES = examples/filter.c
examples_filter_LDADD = libfcgi/libfcgi.la
examples_threaded_SOURCES = examples/threaded.c
examples_threaded_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
examples_threaded_LDADD = libfcgi/libfcgi.la $(PTHREAD_LIBS)
examples_echo_cpp_SOURCES = examples/echo-cpp.cpp
examples_echo_cpp_LDADD = libfcgi/libfcgi++.la libfcgi/libfcgi.la

EXTRA_DIST += examples/demo.sh

# `make demo`: start examples/echo on a Unix socket and send it one request
# through cgi-fcgi (ours when built, else the one on PATH).
.PHONY: demo
demo: examples/echo
	$(SHELL) $(srcdir)/examples/demo.sh examples/echo
