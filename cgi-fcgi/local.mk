# cgi-fcgi: the CGI-to-FastCGI bridge, application starter and probe.  It
# speaks FastCGI through the core's codec (libfcgi/proto/client.hpp) and is
# linked by the C driver: like the core, it needs libc only.
bin_PROGRAMS += cgi-fcgi/cgi-fcgi
cgi_fcgi_cgi_fcgi_SOURCES = \
	cgi-fcgi/cgi-fcgi.cpp \
	cgi-fcgi/options.hpp \
	cgi-fcgi/options.cpp \
	cgi-fcgi/net.hpp \
	cgi-fcgi/net.cpp \
	cgi-fcgi/bridge.hpp \
	cgi-fcgi/bridge.cpp \
	cgi-fcgi/spawn.hpp \
	cgi-fcgi/spawn.cpp
cgi_fcgi_cgi_fcgi_CXXFLAGS = $(AM_CXXFLAGS) $(CORE_CXXFLAGS)
cgi_fcgi_cgi_fcgi_LDADD = libfcgi/libfcgi-core.la $(PTHREAD_LIBS)
cgi_fcgi_cgi_fcgi_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) \
	$(LIBTOOLFLAGS) --mode=link $(CCLD) $(AM_CFLAGS) $(CFLAGS) \
	$(AM_LDFLAGS) $(LDFLAGS) -o $@

dist_man_MANS += man/cgi-fcgi.1
