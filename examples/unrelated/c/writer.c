/*
 * P2 (docs/tutorials.md): the writer of two unrelated processes sharing a file.
 *
 * Maps the first 4000 bytes of FILE shared and copies MESSAGE there with its NUL; prints nothing.
 * The file is created if missing but never grown: on a file shorter than the mapping the write
 * raises SIGBUS (empty file) or is lost past the end of the file. Run `reader` afterwards.
 *
 * usage: writer [FILE [MESSAGE]]   (./shared and 我是你爹 by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAPPED 4000

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./shared";
    const char *message = argc > 2 ? argv[2] : "我是你爹";

    int fd = open(path, O_RDWR | O_CREAT, 0666);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    char *p = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    close(fd);
    memcpy(p, message, strnlen(message, MAPPED - 1) + 1);
    p[MAPPED - 1] = '\0';
    munmap(p, MAPPED);
    return 0;
}
