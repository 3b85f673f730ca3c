# libfcgi-core.la: the C++ core (sans-I/O protocol, transport, streams), no
# exported symbols.  libfcgi.la adds the extern "C" shims; libfcgi++.la the
# iostream layer.  Unit tests and cgi-fcgi link the core directly.
noinst_LTLIBRARIES += libfcgi/libfcgi-core.la
libfcgi_libfcgi_core_la_SOURCES = \
	libfcgi/base/buffer.hpp \
	libfcgi/base/buffer.cpp \
	libfcgi/proto/record.hpp \
	libfcgi/proto/record.cpp \
	libfcgi/proto/nvpair.hpp \
	libfcgi/proto/nvpair.cpp \
	libfcgi/proto/server_conn.hpp \
	libfcgi/proto/server_conn.cpp \
	libfcgi/proto/client.hpp \
	libfcgi/proto/client.cpp \
	libfcgi/io/fdio.hpp \
	libfcgi/io/fdio.cpp \
	libfcgi/io/listen.hpp \
	libfcgi/io/listen.cpp \
	libfcgi/io/accept.hpp \
	libfcgi/io/accept.cpp \
	libfcgi/io/process_env.hpp \
	libfcgi/io/process_env.cpp \
	libfcgi/stream/stream.hpp \
	libfcgi/stream/stream.cpp \
	libfcgi/stream/printf.cpp \
	libfcgi/stream/request.hpp \
	libfcgi/stream/request.cpp
libfcgi_libfcgi_core_la_CXXFLAGS = $(AM_CXXFLAGS) $(CORE_CXXFLAGS) $(PTHREAD_CFLAGS)

lib_LTLIBRARIES += libfcgi/libfcgi.la
libfcgi_libfcgi_la_SOURCES = \
	libfcgi/capi/export.hpp \
	libfcgi/capi/fcgiapp.cpp \
	libfcgi/capi/fcgios.cpp \
	libfcgi/capi/fcgi_stdio.cpp
libfcgi_libfcgi_la_CXXFLAGS = $(AM_CXXFLAGS) $(CORE_CXXFLAGS) $(PTHREAD_CFLAGS)
libfcgi_libfcgi_la_LIBADD = libfcgi/libfcgi-core.la $(PTHREAD_LIBS)
libfcgi_libfcgi_la_LDFLAGS = -no-undefined -version-info $(LT_VERSION_INFO) -Wl,-z,defs \
	$(GC_SECTIONS_LDFLAGS)
EXTRA_libfcgi_libfcgi_la_DEPENDENCIES = $(srcdir)/libfcgi/libfcgi.map
if HAVE_VSCRIPT
libfcgi_libfcgi_la_LDFLAGS += -Wl,--version-script=$(srcdir)/libfcgi/libfcgi.map
endif
# Linked by the C driver: libfcgi.so.0 needs libc only, like the reference.
libfcgi_libfcgi_la_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC $(AM_LIBTOOLFLAGS) \
	$(LIBTOOLFLAGS) --mode=link $(CCLD) $(AM_CFLAGS) $(CFLAGS) \
	$(libfcgi_libfcgi_la_LDFLAGS) $(LDFLAGS) -o $@

lib_LTLIBRARIES += libfcgi/libfcgi++.la
libfcgi_libfcgi___la_SOURCES = libfcgi/cxx/fcgio.cpp
libfcgi_libfcgi___la_CPPFLAGS = $(AM_CPPFLAGS)
libfcgi_libfcgi___la_CXXFLAGS = $(AM_CXXFLAGS) -fvisibility=hidden
libfcgi_libfcgi___la_LIBADD = libfcgi/libfcgi.la
libfcgi_libfcgi___la_LDFLAGS = -no-undefined -version-info $(LT_VERSION_INFO)
EXTRA_libfcgi_libfcgi___la_DEPENDENCIES = $(srcdir)/libfcgi/libfcgi++.map
if HAVE_VSCRIPT
libfcgi_libfcgi___la_LDFLAGS += -Wl,--version-script=$(srcdir)/libfcgi/libfcgi++.map
endif

EXTRA_DIST += libfcgi/libfcgi.map libfcgi/libfcgi++.map
