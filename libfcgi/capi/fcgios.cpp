// The OS_ functions libfcgi has always exported (fcgios.h), kept for
// programs that call them.  Each delegates to io/; none exits the process.
#include "capi/export.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <new>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastcgi.h"
#include "fcgios.h"
#include "io/accept.hpp"
#include "io/fdio.hpp"
#include "io/listen.hpp"
#include "io/process_env.hpp"
#include "base/buffer.hpp"
#include "stream/request.hpp"

using namespace fcgi;

namespace {

// One pending asynchronous read or write, completed by OS_DoIo.
struct AsyncOp {
    int fd;
    bool write;
    void *buf;
    int len;
    OS_AsyncProc proc;
    ClientData client;
};

pthread_mutex_t g_async_mu = PTHREAD_MUTEX_INITIALIZER;
Buffer *g_async = nullptr; // AsyncOp[]; allocated on first use

int queue_async(int fd, bool write, void *buf, int len, OS_AsyncProc proc, ClientData client)
{
    if (fd < 0 || !buf || len < 0 || !proc) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&g_async_mu);
    if (!g_async) {
        void *mem = calloc(1, sizeof(Buffer));
        if (mem)
            g_async = new (mem) Buffer;
    }
    AsyncOp op = {fd, write, buf, len, proc, client};
    bool ok = g_async && g_async->append(&op, sizeof op);
    pthread_mutex_unlock(&g_async_mu);
    if (!ok) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void cancel_async(int fd, bool write)
{
    pthread_mutex_lock(&g_async_mu);
    if (g_async) {
        AsyncOp *ops = reinterpret_cast<AsyncOp *>(g_async->data());
        size_t n = g_async->size() / sizeof(AsyncOp), kept = 0;
        for (size_t i = 0; i < n; ++i)
            if (!(ops[i].fd == fd && ops[i].write == write))
                ops[kept++] = ops[i];
        g_async->resize_down(kept * sizeof(AsyncOp));
    }
    pthread_mutex_unlock(&g_async_mu);
}

} // namespace

extern "C" {

int OS_LibInit(int stdioFds[3])
{
    (void)stdioFds;
    return request::init() == 0 ? 0 : -1;
}

void OS_LibShutdown(void)
{
    pthread_mutex_lock(&g_async_mu);
    if (g_async) {
        g_async->~Buffer();
        free(g_async);
        g_async = nullptr;
    }
    pthread_mutex_unlock(&g_async_mu);
}

int OS_CreateLocalIpcFd(const char *bindPath, int backlog)
{
    if (!bindPath) {
        errno = EINVAL;
        return -1;
    }
    return io::open_listener(bindPath, backlog);
}

int OS_FcgiConnect(char *bindPath)
{
    if (!bindPath) {
        errno = EINVAL;
        return -1;
    }
    return io::connect_to(bindPath);
}

int OS_Read(int fd, char *buf, size_t len)
{
    return static_cast<int>(io::read_some(fd, buf, len));
}

int OS_Write(int fd, char *buf, size_t len)
{
    ssize_t r;
    do
        r = write(fd, buf, len);
    while (r < 0 && errno == EINTR);
    return static_cast<int>(r);
}

int OS_SpawnChild(char *execPath, int listenFd)
{
    if (!execPath) {
        errno = EINVAL;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        // The application finds its listening socket on fd 0; stdout and
        // stderr belong to the parent's CGI conversation.
        if (listenFd != FCGI_LISTENSOCK_FILENO) {
            dup2(listenFd, FCGI_LISTENSOCK_FILENO);
            close(listenFd);
        }
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            if (null > STDERR_FILENO)
                close(null);
        }
        execl(execPath, execPath, static_cast<char *>(nullptr));
        _exit(errno ? errno : 1);
    }
    return 0;
}

int OS_AsyncReadStdin(void *buf, int len, OS_AsyncProc procPtr, ClientData clientData)
{
    return queue_async(STDIN_FILENO, false, buf, len, procPtr, clientData);
}

int OS_AsyncRead(int fd, int offset, void *buf, int len, OS_AsyncProc procPtr,
                 ClientData clientData)
{
    (void)offset; // streams have no offset
    return queue_async(fd, false, buf, len, procPtr, clientData);
}

int OS_AsyncWrite(int fd, int offset, void *buf, int len, OS_AsyncProc procPtr,
                  ClientData clientData)
{
    (void)offset;
    return queue_async(fd, true, buf, len, procPtr, clientData);
}

int OS_Close(int fd, int shutdown)
{
    if (fd < 0)
        return 0;
    cancel_async(fd, false);
    cancel_async(fd, true);
    io::close_conn(fd, shutdown ? io::close_linger_ms() : 0);
    return 0;
}

int OS_CloseRead(int fd)
{
    cancel_async(fd, false);
    return shutdown(fd, SHUT_RD);
}

int OS_DoIo(struct timeval *tmo)
{
    // Snapshot the pending operations, wait for any to be ready, then
    // complete the ready ones (their callbacks may queue new ones).
    pthread_mutex_lock(&g_async_mu);
    size_t n = g_async ? g_async->size() / sizeof(AsyncOp) : 0;
    AsyncOp *ops = n ? static_cast<AsyncOp *>(malloc(n * sizeof(AsyncOp))) : nullptr;
    if (ops)
        for (size_t i = 0; i < n; ++i)
            ops[i] = reinterpret_cast<AsyncOp *>(g_async->data())[i];
    pthread_mutex_unlock(&g_async_mu);
    if (n && !ops) {
        errno = ENOMEM;
        return -1;
    }
    int timeout = -1;
    if (tmo)
        timeout = static_cast<int>(tmo->tv_sec * 1000 + tmo->tv_usec / 1000);
    struct pollfd *fds = n ? static_cast<struct pollfd *>(calloc(n, sizeof *fds)) : nullptr;
    if (n && !fds) {
        free(ops);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < n; ++i) {
        fds[i].fd = ops[i].fd;
        fds[i].events = ops[i].write ? POLLOUT : POLLIN;
    }
    int rc = poll(fds, n, timeout);
    if (rc > 0) {
        for (size_t i = 0; i < n; ++i) {
            if (!fds[i].revents)
                continue;
            cancel_async(ops[i].fd, ops[i].write);
            ssize_t r = ops[i].write ? write(ops[i].fd, ops[i].buf, static_cast<size_t>(ops[i].len))
                                     : io::read_some(ops[i].fd, ops[i].buf, static_cast<size_t>(ops[i].len));
            ops[i].proc(ops[i].client, static_cast<int>(r));
        }
    }
    free(fds);
    free(ops);
    return rc < 0 && errno != EINTR ? -1 : 0;
}

int OS_Accept(int listen_sock, int fail_on_intr, const char *webServerAddrs)
{
    io::AddrFilter filter;
    if (!filter.set(webServerAddrs)) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (io::shutdown_pending()) {
            errno = EINTR;
            return -1;
        }
        int fd = -1;
        bool tcp = false;
        switch (io::accept_one(listen_sock, &filter, fd, tcp)) {
        case io::AcceptResult::ok:
            return fd;
        case io::AcceptResult::rejected:
            continue;
        case io::AcceptResult::again:
            if (io::wait_fd(listen_sock, POLLIN, -1) < 0 && errno != EINTR)
                return -1;
            continue;
        case io::AcceptResult::error:
            if (errno == EINTR && !fail_on_intr)
                continue;
            return -1;
        }
    }
}

int OS_IpcClose(int ipcFd, int shutdown) { return OS_Close(ipcFd, shutdown); }

int OS_IsFcgi(int sock) { return io::is_listener(sock); }

void OS_SetFlags(int fd, int flags)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | flags);
}

void OS_ShutdownPending(void) { io::request_shutdown(); }

} // extern "C"
