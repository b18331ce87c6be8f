/*
 * Runs a command and reports its peak resident set size, for machines without GNU time:
 * wait4() returns the child's rusage, whose ru_maxrss (KiB) covers the child and the descendants
 * it waited for.
 *
 *   peak_rss COMMAND [ARG...]    prints the peak RSS in KiB on stderr as its last line, exits as the command did
 */
#include "bench.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage usage;
    while (wait4(child, &status, 0, &usage) < 0) {
        if (errno != EINTR) die("wait4");
    }
    fprintf(stderr, "%ld\n", usage.ru_maxrss);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
