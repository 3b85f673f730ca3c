# tests/stdio/: fcgi_stdio (FCGI_), libfcgi++ (fcgio.h) and the examples.
#   check_stdio    every FCGI_ wrapper on request streams and real files (C)
#   check_fcgio    fcgi_streambuf/istream/ostream, buffered and unbuffered
#   examples.sh    each example served on a Unix socket, asked by rawclient
TESTS_STDIO_HARNESS = tests/stdio/harness.c tests/stdio/harness.h $(TESTS_PEER_SOURCES)
TESTS_STDIO_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/support -I$(top_srcdir)/tests/stdio

if ENABLE_CHECK
check_PROGRAMS += tests/stdio/check_stdio tests/stdio/check_fcgio
TESTS += tests/stdio/check_stdio tests/stdio/check_fcgio
endif
tests_stdio_check_stdio_SOURCES = tests/stdio/check_stdio.c $(TESTS_STDIO_HARNESS)
tests_stdio_check_stdio_CPPFLAGS = $(TESTS_STDIO_CPPFLAGS)
tests_stdio_check_stdio_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PTHREAD_CFLAGS)
tests_stdio_check_stdio_LDADD = libfcgi/libfcgi.la $(CHECK_LIBS) $(PTHREAD_LIBS) -lm

tests_stdio_check_fcgio_SOURCES = tests/stdio/check_fcgio.cpp $(TESTS_STDIO_HARNESS)
tests_stdio_check_fcgio_CPPFLAGS = $(TESTS_STDIO_CPPFLAGS)
tests_stdio_check_fcgio_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_stdio_check_fcgio_CXXFLAGS = $(AM_CXXFLAGS) $(CHECK_CFLAGS) $(PTHREAD_CFLAGS)
tests_stdio_check_fcgio_LDADD = libfcgi/libfcgi++.la libfcgi/libfcgi.la $(CHECK_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/stdio/rawclient
tests_stdio_rawclient_SOURCES = tests/stdio/rawclient.c $(TESTS_PEER_SOURCES)
tests_stdio_rawclient_CPPFLAGS = $(TESTS_STDIO_CPPFLAGS)
tests_stdio_rawclient_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_stdio_rawclient_LDADD = $(PTHREAD_LIBS)

TESTS += tests/stdio/examples.sh
EXTRA_DIST += tests/stdio/examples.sh
