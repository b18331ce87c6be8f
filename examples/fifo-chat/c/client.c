/*
 * P12 (docs/tutorials.md): the FIFO client.
 *
 * Opens the server's FIFO for writing (waiting for the server to open it), then loops: prints the
 * prompt `Please Enter# `, reads its standard input, and writes what that one read() returned to the
 * FIFO. At end of input it prints `client quit!!!`. If the server has gone, the write kills it with
 * SIGPIPE. Exit code 2 if the FIFO cannot be opened.
 *
 * usage: client [FIFO]   (the tutorial's ./fifo by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./fifo";
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
        perror("open");
        return 2;
    }
    char buffer[128];
    for (;;) {
        printf("Please Enter# ");
        fflush(stdout);
        ssize_t s = read(0, buffer, sizeof buffer - 1);
        if (s > 0) {
            write(fd, buffer, s);
        } else if (s == 0) {
            printf("client quit!!!\n");
            break;
        } else {
            perror("read");
            break;
        }
    }
    close(fd);
    return 0;
}
