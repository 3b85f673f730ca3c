/*
 * activate: starts a program the way systemd's socket activation does.
 *
 *     activate SOCKET-PATH PROGRAM [ARG...]
 *
 * Creates a listening Unix socket at SOCKET-PATH, then runs PROGRAM with
 * the socket as descriptor 3, LISTEN_FDS=1 and LISTEN_PID set to the
 * program's own pid, and stdin on /dev/null.  Exits with the program's
 * status (128 + signal number if it was killed).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa;
    int fd, status;
    char pid[32];

    if (argc < 3) {
        fprintf(stderr, "usage: activate SOCKET-PATH PROGRAM [ARG...]\n");
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "activate: socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
        perror("activate: listen");
        return 2;
    }
    signal(SIGTERM, forward);
    signal(SIGINT, forward);
    child = fork();
    if (child < 0) {
        perror("activate: fork");
        return 2;
    }
    if (child == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 3) < 0)
            _exit(2);
        if (fd != 3)
            close(fd);
        if (null != 0)
            close(null);
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        setenv("LISTEN_PID", pid, 1);
        setenv("LISTEN_FDS", "1", 1);
        execvp(argv[2], argv + 2);
        perror("activate: exec");
        _exit(127);
    }
    close(fd);
    while (waitpid(child, &status, 0) < 0)
        ;
    unlink(argv[1]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
