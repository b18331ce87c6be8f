/*
 * P7 (docs/tutorials.md): keeps a struct Conn_stat in a mapped file and counts.
 *
 * Empties FILE (O_TRUNC), sets it to the struct's size, maps it, stores {0, "127.0.0.1"}, then adds 1
 * to count every INTERVAL_MS until it reaches MAX. Prints nothing. Exit codes: 1 without FILE, 2 when
 * open or ftruncate fails, 3 when mmap fails, 4 when munmap fails.
 *
 * usage: map-write FILE [MAX [INTERVAL_MS]]   (the tutorial's 30 and one second by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct Conn_stat {
    int count;
    char ip[64];
};

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: %s FILE\n", argv[0]);
        return 1;
    }
    int max = argc > 2 ? atoi(argv[2]) : 30;
    int interval_ms = argc > 3 ? atoi(argv[3]) : 1000;

    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, sizeof(struct Conn_stat)) < 0) {
        perror("open");
        return 2;
    }
    struct Conn_stat *p = mmap(NULL, sizeof(struct Conn_stat), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 3;
    }
    close(fd);

    struct Conn_stat initial = {0, "127.0.0.1"};
    memcpy(p, &initial, sizeof initial);
    while (p->count < max) {
        usleep(interval_ms * 1000);
        p->count++;
    }
    if (munmap(p, sizeof(struct Conn_stat)) < 0) {
        perror("munmap");
        return 4;
    }
    return 0;
}
