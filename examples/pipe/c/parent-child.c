/*
 * P10 (docs/tutorials.md): a parent reads what its child writes through a pipe.
 *
 * Makes a pipe, prints its two descriptors and forks. The child closes the read end and writes
 * `I am a child!!!` COUNT times, every INTERVAL_MS. The parent closes the write end and prints what
 * each read() returns (the text has no newline of its own, so two messages read at once print on
 * one line), `child is quit!!!` at end of file, and `child is quit success` once it has reaped
 * the child.
 *
 * usage: parent-child [COUNT [INTERVAL_MS]]   (the tutorial's 5 and one second by default)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 5;
    int interval_ms = argc > 2 ? atoi(argv[2]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out as printed, into a pipe too */

    int fds[2];
    if (pipe(fds) == -1) {
        perror("pipe");
        return 1;
    }
    printf("%d, %d\n", fds[0], fds[1]);

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        const char *message = "I am a child!!!";
        for (int i = 0; i < count; i++) {
            write(fds[1], message, strlen(message));
            usleep(interval_ms * 1000);
        }
        close(fds[1]);
        return 0;
    }
    close(fds[1]);
    char buffer[64];
    for (;;) {
        ssize_t s = read(fds[0], buffer, sizeof buffer - 1);
        if (s > 0) {
            buffer[s] = '\0';
            printf("parent get message from child : %s\n", buffer);
        } else if (s == 0) {
            printf("child is quit!!!\n");
            break;
        } else {
            perror("read");
            break;
        }
    }
    if (waitpid(pid, NULL, 0) == pid) printf("child is quit success\n");
    close(fds[0]);
    return 0;
}
