/*
 * threaded.c: N threads take requests from one listening socket, each
 * with its own FCGX_Request.  fcgi-ng lets them all sit in FCGX_Accept_r
 * at once; no application mutex around the accept is needed.
 *
 * Usage: threaded [N]    (default: FCGI_THREADS from the environment, else 4)
 *
 * The response names the thread that served the request and counts the
 * requests of that thread and of the process.  A query string of the form
 * "sleep=MS" makes the request take MS more milliseconds, which shows the
 * threads working in parallel.  The program serves on the listening socket
 * on fd 0, or on the socket named by FCGI_LISTEN_ADDR when that is set.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgiapp.h"

#define MAX_THREADS 256

struct worker {
    pthread_t thread;
    int index;
    int sock;
};

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long total_requests;

static void pause_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void *serve(void *arg)
{
    struct worker *w = arg;
    FCGX_Request request;
    long mine = 0;

    FCGX_InitRequest(&request, w->sock, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        const char *query = FCGX_GetParam("QUERY_STRING", request.envp);
        long total;

        if (query && strncmp(query, "sleep=", 6) == 0)
            pause_ms(strtol(query + 6, NULL, 10));
        pthread_mutex_lock(&counter_lock);
        total = ++total_requests;
        pthread_mutex_unlock(&counter_lock);
        FCGX_FPrintF(request.out,
                     "Content-type: text/plain\r\n\r\n"
                     "thread %d, request %ld of this thread, %ld in all, process %ld\n",
                     w->index, ++mine, total, (long)getpid());
        FCGX_Finish_r(&request);
    }
    FCGX_Free(&request, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *n_text = argc > 1 ? argv[1] : getenv("FCGI_THREADS");
    const char *addr = getenv("FCGI_LISTEN_ADDR");
    struct worker *workers;
    int n = n_text ? atoi(n_text) : 4;
    int sock = 0;
    int i;

    if (n < 1 || n > MAX_THREADS) {
        fprintf(stderr, "threaded: the thread count must be 1 to %d\n", MAX_THREADS);
        return 2;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "threaded: FCGX_Init failed\n");
        return 1;
    }
    if (addr && *addr) {
        sock = FCGX_OpenSocket(addr, 64);
        if (sock < 0) {
            perror(addr);
            return 1;
        }
    }

    workers = calloc((size_t)n, sizeof *workers);
    if (!workers) {
        perror("threaded");
        return 1;
    }
    for (i = 0; i < n; ++i) {
        workers[i].index = i;
        workers[i].sock = sock;
        if (pthread_create(&workers[i].thread, NULL, serve, &workers[i]) != 0) {
            fprintf(stderr, "threaded: cannot start thread %d\n", i);
            return 1;
        }
    }
    for (i = 0; i < n; ++i)
        pthread_join(workers[i].thread, NULL);
    free(workers);
    return 0;
}
