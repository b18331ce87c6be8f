/*
 * P3 (docs/tutorials.md): the reader of two unrelated processes sharing a file.
 *
 * Maps the first 4000 bytes of FILE shared (asking for write access it never uses) and prints the
 * string at its start. A file shorter than the mapping reads as zeros past its end; an empty file
 * raises SIGBUS.
 *
 * usage: reader [FILE]   (./shared by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAPPED 4000

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./shared";

    int fd = open(path, O_RDWR);
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
    printf("从映射区读到的数据: %.*s\n", MAPPED, p);
    munmap(p, MAPPED);
    return 0;
}
