/*
 * P8 (docs/tutorials.md): reads the struct Conn_stat that map-write keeps in a mapped file.
 *
 * Maps FILE read-only and prints `ip = <ip> ,count: <count>` (and two tabs) READS times, every
 * INTERVAL_MS. Exit codes: 1 without FILE, 2 when open fails, 3 when mmap fails, 4 when munmap fails.
 *
 * usage: map-read FILE [READS [INTERVAL_MS]]   (the tutorial's 10 and one second by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
    int reads = argc > 2 ? atoi(argv[2]) : 10;
    int interval_ms = argc > 3 ? atoi(argv[3]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out as printed, into a pipe too */

    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 2;
    }
    struct Conn_stat *p = mmap(NULL, sizeof(struct Conn_stat), PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 3;
    }
    close(fd);
    for (int i = 0; i < reads; i++) {
        printf("ip = %s ,count: %d\t\t\n", p->ip, p->count);
        usleep(interval_ms * 1000);
    }
    if (munmap(p, sizeof(struct Conn_stat)) < 0) {
        perror("munmap");
        return 4;
    }
    return 0;
}
