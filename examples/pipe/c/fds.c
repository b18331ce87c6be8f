/*
 * P9 (docs/tutorials.md): the two descriptors of a new pipe.
 *
 * Prints the read end and the write end pipe() returned: `3, 4` when started from a shell, which
 * leaves only 0, 1 and 2 open.
 *
 * usage: fds
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int fds[2];
    if (pipe(fds) == -1) {
        perror("pipe");
        return 1;
    }
    printf("%d, %d\n", fds[0], fds[1]);
    return 0;
}
