# tests/unit/: white-box Check suites of the sans-I/O core, linked to the
# convenience library libfcgi-core.la (so hidden internals are reachable).
# They are test programs, not the library: they may use the C++ runtime.
UNIT_CXXFLAGS = $(AM_CXXFLAGS) $(CHECK_CFLAGS) -std=c++17
UNIT_LDADD = libfcgi/libfcgi-core.la $(CHECK_LIBS) $(PTHREAD_LIBS)

if ENABLE_CHECK
check_PROGRAMS += \
	tests/unit/check_record \
	tests/unit/check_nvpair \
	tests/unit/check_server_conn
TESTS += \
	tests/unit/check_record \
	tests/unit/check_nvpair \
	tests/unit/check_server_conn
endif

tests_unit_check_record_SOURCES = tests/unit/check_record.cpp tests/unit/unit.hpp
tests_unit_check_record_CXXFLAGS = $(UNIT_CXXFLAGS)
tests_unit_check_record_LDADD = $(UNIT_LDADD)

tests_unit_check_nvpair_SOURCES = tests/unit/check_nvpair.cpp tests/unit/unit.hpp
tests_unit_check_nvpair_CXXFLAGS = $(UNIT_CXXFLAGS)
tests_unit_check_nvpair_LDADD = $(UNIT_LDADD)

tests_unit_check_server_conn_SOURCES = tests/unit/check_server_conn.cpp tests/unit/unit.hpp
tests_unit_check_server_conn_CXXFLAGS = $(UNIT_CXXFLAGS)
tests_unit_check_server_conn_LDADD = $(UNIT_LDADD)
