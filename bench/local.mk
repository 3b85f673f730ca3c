# bench/: `make bench` measures this libfcgi against the reference libfcgi
# 2.4.2 in the same run and prints ratios (bench/run.sh); `make bench-mpx`
# measures HAProxy multiplexing requests over connections to a 16-thread
# application, against one request per connection (bench/haproxy-mpx.sh);
# `make bench-nginx` the whole HTTP path through nginx (bench/nginx.sh).
# Nothing here is built by `make`, `make check` or `make install`.
#
#   bench/app     the FastCGI responder, built against the reference headers
#                 and libfcgi.so.0 when they are installed; run.sh swaps our
#                 library in underneath it with LD_LIBRARY_PATH
#   bench/client  the load generator (raw FastCGI, needs no libfcgi)
#   bench/limit   the physical limit for the hello scenarios: a responder
#                 with no library, one read() and one write() per request

bench_shared = $(srcdir)/bench/address.h $(srcdir)/bench/pattern.h \
	$(srcdir)/bench/server.h

# Against the reference only: no AM_CPPFLAGS, so neither our include/ nor
# our config.h comes near it.
bench/app: $(srcdir)/bench/app.c $(bench_shared)
	@$(MKDIR_P) bench
	$(AM_V_CC)ref=`$(CC) -print-file-name=libfcgi.so.0`; \
	case $$ref in \
	  /*) $(CC) $(CFLAGS) $(PTHREAD_CFLAGS) $(LDFLAGS) -o $@ \
	        $(srcdir)/bench/app.c "$$ref" $(PTHREAD_LIBS) ;; \
	  *) echo "bench: the reference libfcgi is not installed" \
	          "(Debian: apt-get install libfcgi-dev libfcgi0ldbl)" >&2; exit 1 ;; \
	esac

bench/client: $(srcdir)/bench/client.c $(bench_shared)
	@$(MKDIR_P) bench
	$(AM_V_CC)$(CC) $(AM_CFLAGS) $(CFLAGS) $(PTHREAD_CFLAGS) $(LDFLAGS) -o $@ \
	  $(srcdir)/bench/client.c $(PTHREAD_LIBS)

bench/limit: $(srcdir)/bench/limit.c $(bench_shared)
	@$(MKDIR_P) bench
	$(AM_V_CC)$(CC) $(AM_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	  $(srcdir)/bench/limit.c

.PHONY: bench
bench: bench/app bench/client bench/limit libfcgi/libfcgi.la
	$(AM_V_at)top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	  $(SHELL) $(srcdir)/bench/run.sh

# Uses the web-server tests' application and helpers (tests/servers/).
.PHONY: bench-mpx
bench-mpx: all tests/servers/webapp$(EXEEXT) tests/servers/srvtool$(EXEEXT)
	$(AM_V_at)top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	  $(SHELL) $(srcdir)/bench/haproxy-mpx.sh

# The whole path through nginx and HTTP (bench/nginx.sh).
.PHONY: bench-nginx
bench-nginx: all bench/app tests/servers/webapp$(EXEEXT) tests/servers/srvtool$(EXEEXT)
	$(AM_V_at)top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	  $(SHELL) $(srcdir)/bench/nginx.sh

CLEANFILES += bench/app bench/client bench/limit
clean-local: clean-bench
.PHONY: clean-bench
clean-bench:
	-rm -rf bench/results

EXTRA_DIST += \
	bench/README \
	bench/address.h \
	bench/server.h \
	bench/pattern.h \
	bench/app.c \
	bench/client.c \
	bench/limit.c \
	bench/run.sh \
	bench/haproxy-mpx.sh \
	bench/nginx.sh
