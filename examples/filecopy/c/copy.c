/*
 * P4 (docs/tutorials.md): copies a file through two mappings.
 *
 * Takes SRC's size from lseek, maps SRC, creates DST and sets its size with ftruncate (shrinking a
 * larger file), maps it, and copies with one memcpy. Kept as the tutorial has it, faults included:
 * SRC is opened read-write, the size is an int (wrong past 2 GiB), a 0-byte SRC makes mmap fail,
 * and every failure prints perror's line but exits 0.
 *
 * usage: copy [SRC [DST]]   (./data.txt and ./copy.txt by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *source = argc > 1 ? argv[1] : "./data.txt";
    const char *destination = argc > 2 ? argv[2] : "./copy.txt";

    int from = open(source, O_RDWR);
    if (from < 0) {
        perror("open source");
        return 0;
    }
    int size = lseek(from, 0, SEEK_END);
    char *src = mmap(NULL, size, PROT_READ, MAP_SHARED, from, 0);
    if (src == MAP_FAILED) {
        perror("mmap source");
        return 0;
    }
    int to = open(destination, O_RDWR | O_CREAT, 0644);
    if (to < 0) {
        perror("open destination");
        return 0;
    }
    if (ftruncate(to, size) < 0) {
        perror("ftruncate");
        return 0;
    }
    char *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, to, 0);
    if (dst == MAP_FAILED) {
        perror("mmap destination");
        return 0;
    }
    memcpy(dst, src, size);
    munmap(src, size);
    munmap(dst, size);
    close(from);
    close(to);
    return 0;
}
