# tests/faults/: the application under a misbehaving web server and a
# failing system (C programs over libfcgi.la, each started by a small .sh
# that bounds its time).
#   faults             peer closes mid-request and mid-response, stops
#                      reading, 1,000 abandoned connections, descriptors
#                      above 1024 (Unix socket and loopback TCP)
#   failmalloc         the Nth malloc/calloc/realloc fails, for every N
#   threads            32 threads in FCGX_Accept_r, 200 connections
#   threads-shutdown   SIGTERM while those threads re-enter FCGX_Accept_r
#   emfile             accept(2) failing with EMFILE
# `make check-tsan` builds threads.c and the core with clang's
# -fsanitize=thread into tests/faults/threads-tsan and runs both modes,
# and the same for the multiplexing suite, tests/api/check_mpx-tsan.

FAULTS_COMMON = tests/faults/faultlib.c tests/faults/faultlib.h
FAULTS_LDADD = libfcgi/libfcgi.la $(PTHREAD_LIBS)

check_PROGRAMS += \
	tests/faults/faults \
	tests/faults/failmalloc \
	tests/faults/threads \
	tests/faults/emfile
TESTS += \
	tests/faults/faults.sh \
	tests/faults/failmalloc.sh \
	tests/faults/threads.sh \
	tests/faults/threads-shutdown.sh \
	tests/faults/emfile.sh

tests_faults_faults_SOURCES = tests/faults/faults.c $(FAULTS_COMMON)
tests_faults_faults_LDADD = $(FAULTS_LDADD)

tests_faults_failmalloc_SOURCES = tests/faults/failmalloc.c $(FAULTS_COMMON)
tests_faults_failmalloc_LDADD = $(FAULTS_LDADD)

tests_faults_threads_SOURCES = tests/faults/threads.c $(FAULTS_COMMON)
tests_faults_threads_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_faults_threads_LDADD = $(FAULTS_LDADD)

tests_faults_emfile_SOURCES = tests/faults/emfile.c $(FAULTS_COMMON)
tests_faults_emfile_CFLAGS = $(AM_CFLAGS) $(PTHREAD_CFLAGS)
tests_faults_emfile_LDADD = $(FAULTS_LDADD)

EXTRA_DIST += \
	tests/faults/run.sh \
	tests/faults/faults.sh \
	tests/faults/failmalloc.sh \
	tests/faults/threads.sh \
	tests/faults/threads-shutdown.sh \
	tests/faults/emfile.sh

# --- make check-tsan -------------------------------------------------------

TSAN_CC = clang
TSAN_CXX = clang++
TSAN_FLAGS = -g -O1 -fsanitize=thread
TSAN_CORE_SRC = \
	$(addprefix $(abs_top_srcdir)/,$(filter %.cpp,$(libfcgi_libfcgi_core_la_SOURCES))) \
	$(abs_top_srcdir)/libfcgi/capi/fcgiapp.cpp \
	$(abs_top_srcdir)/libfcgi/capi/fcgios.cpp

tests/faults/threads-tsan: $(srcdir)/tests/faults/threads.c $(srcdir)/tests/faults/faultlib.c \
		$(srcdir)/tests/faults/faultlib.h $(TSAN_CORE_SRC)
	@command -v $(TSAN_CXX) >/dev/null 2>&1 || { \
	  echo "check-tsan: $(TSAN_CXX) not found (Debian: apt-get install clang)" >&2; exit 1; }
	$(AM_V_GEN)rm -rf $@.o.d && $(MKDIR_P) $@.o.d && cd $@.o.d && \
	$(TSAN_CC) -std=gnu11 $(TSAN_FLAGS) -I$(abs_top_srcdir)/include \
	  -c $(abs_top_srcdir)/tests/faults/threads.c $(abs_top_srcdir)/tests/faults/faultlib.c && \
	$(TSAN_CXX) -std=c++17 $(TSAN_FLAGS) -fno-exceptions -fno-rtti \
	  -I$(abs_top_srcdir)/include -I$(abs_top_srcdir)/libfcgi -c $(TSAN_CORE_SRC) && \
	$(TSAN_CXX) $(TSAN_FLAGS) -pthread *.o -o ../threads-tsan && \
	cd .. && rm -rf threads-tsan.o.d

# The Check suite of multiplexed connections, whose applications run up
# to 16 threads over one connection.
tests/api/check_mpx-tsan: $(srcdir)/tests/api/check_mpx.c $(srcdir)/tests/support/peer.c \
		$(srcdir)/tests/support/peer.h $(srcdir)/tests/support/fixture.c \
		$(srcdir)/tests/support/fixture.h $(TSAN_CORE_SRC)
	@command -v $(TSAN_CXX) >/dev/null 2>&1 || { \
	  echo "check-tsan: $(TSAN_CXX) not found (Debian: apt-get install clang)" >&2; exit 1; }
	$(AM_V_GEN)rm -rf $@.o.d && $(MKDIR_P) $@.o.d && cd $@.o.d && \
	$(TSAN_CC) -std=gnu11 $(TSAN_FLAGS) $(CHECK_CFLAGS) -I$(abs_top_srcdir)/include \
	  -I$(abs_top_srcdir)/tests/support \
	  -c $(abs_top_srcdir)/tests/api/check_mpx.c $(abs_top_srcdir)/tests/support/peer.c \
	  $(abs_top_srcdir)/tests/support/fixture.c && \
	$(TSAN_CXX) -std=c++17 $(TSAN_FLAGS) -fno-exceptions -fno-rtti \
	  -I$(abs_top_srcdir)/include -I$(abs_top_srcdir)/libfcgi -c $(TSAN_CORE_SRC) && \
	$(TSAN_CXX) $(TSAN_FLAGS) -pthread *.o $(CHECK_LIBS) -o ../check_mpx-tsan && \
	cd .. && rm -rf check_mpx-tsan.o.d

# Without Check (configure found none) there is no suite to build.
TSAN_CHECK_SUITES =
if ENABLE_CHECK
TSAN_CHECK_SUITES += tests/api/check_mpx-tsan
endif

check-tsan: tests/faults/threads-tsan $(TSAN_CHECK_SUITES)
	@status=0; \
	for mode in "" --shutdown-race; do \
	  echo "== tests/faults/threads-tsan $$mode"; \
	  TSAN_OPTIONS="$${TSAN_OPTIONS:-second_deadlock_stack=1}" \
	    timeout 250 tests/faults/threads-tsan $$mode || status=1; \
	done; \
	for prog in $(TSAN_CHECK_SUITES); do \
	  echo "== $$prog"; \
	  TSAN_OPTIONS="$${TSAN_OPTIONS:-second_deadlock_stack=1}" \
	    timeout 250 $$prog || status=1; \
	done; exit $$status

.PHONY: check-tsan
CLEANFILES += tests/faults/threads-tsan tests/api/check_mpx-tsan
