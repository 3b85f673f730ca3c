/*
 * fixture.h: the Check fixture the FCGX_ suites share (tests/api/).
 *
 * Each test gets a fresh temporary directory and forks its application
 * processes through spawn(); whatever happens to the test, teardown kills
 * and reaps them and removes the directory.  The state is per process
 * (one test at a time), so the suite's test thread is the only caller of
 * spawn, reap and alive; applications may call say from any thread.
 */
#ifndef FCGI_TEST_FIXTURE_H
#define FCGI_TEST_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fcgiapp.h"
#include "peer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes of served applications; spawn's child exits 120 if body
 * returns. */
enum { APP_OK = 0, APP_INIT_FAILED = 10, APP_ACCEPT_FAILED = 11 };

/* The running test's temporary directory, for sockets and files. */
extern char tmpdir[64];

/*
 * A test case of suite s that runs its tests with this fixture and gives
 * each of them timeout seconds.
 */
TCase *tcase(Suite *s, const char *name, double timeout);

/*
 * Runs every test of s and frees it; returns EXIT_SUCCESS or EXIT_FAILURE
 * for main.  Temporary directories are named /tmp/fcgi-<tag>-XXXXXX.
 */
int fixture_run(Suite *s, const char *tag);

/*
 * Forks; the child runs body(arg) and must not return into Check.  Tests
 * start their application before they allocate anything: under valgrind a
 * child inherits the heap, and blocks only the parent points to would be
 * reported as the child's leaks.
 */
pid_t spawn(void (*body)(void *), void *arg);

/*
 * Waits up to timeout_ms for pid to exit.  Returns its exit code, 200+signal
 * if a signal killed it, or -1 if it was still running (it is then killed).
 */
int reap(pid_t pid, int timeout_ms);

/* Whether pid (a child not yet reaped) is still running. */
int alive(pid_t pid);

/* The bytes of b as a C string ("" when empty). */
const char *txt(const peer_buf *b);

/* Formatted text to a stream without the library's printf, which is under
 * test; cut at 4095 bytes. */
void say(FCGX_Stream *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* FNV-1a (32 bits) of n bytes, to compare bodies through short answers. */
uint32_t fnv1a(const void *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* FCGI_TEST_FIXTURE_H */
