/*
 * P11 (docs/tutorials.md): the FIFO server.
 *
 * Makes the FIFO (mode 0644; it fails if the name exists), opens it for reading, and loops: prints
 * the prompt `Server# `, reads, and prints `Client#: ` and what that one read() returned, its
 * newline included, then a newline of its own (so a line typed by a client shows with a blank line
 * after it, a long one in 127-byte pieces, and a piece without a newline as soon as it is read).
 * At end of file, once every writer has closed the FIFO, it prints `client quit!!!`. The FIFO stays.
 * Exit code 1 if the FIFO cannot be made, 2 if it cannot be opened.
 *
 * usage: server [FIFO]   (the tutorial's ./fifo by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./fifo";
    if (mkfifo(path, 0644) < 0) {
        perror("mkfifo");
        return 1;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 2;
    }
    char buffer[128];
    for (;;) {
        printf("Server# ");
        fflush(stdout);
        ssize_t s = read(fd, buffer, sizeof buffer - 1);
        if (s > 0) {
            buffer[s] = '\0';
            printf("Client#: %s\n", buffer);
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
