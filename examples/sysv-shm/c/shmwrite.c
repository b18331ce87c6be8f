/*
 * P5 (docs/tutorials.md): shmwrite keeps a struct Conn_stat in System V shared memory and counts.
 *
 * Gets the segment for KEY (creating it, mode 0666), attaches it, prints its address, stores
 * {0, "127.0.0.1"}, then adds 1 to count every INTERVAL_MS, TICKS times, and detaches. The segment
 * stays: shmread removes it. Exit codes 1, 2, 3 when shmget, shmat, shmdt fail.
 *
 * usage: shmwrite [KEY [TICKS [INTERVAL_MS]]]   (the tutorial's 1234, 50 and one second by default;
 *        KEY in decimal or 0x hex)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

struct Conn_stat {
    int count;
    char ip[64];
};

int main(int argc, char **argv) {
    key_t key = argc > 1 ? (key_t)strtoul(argv[1], NULL, 0) : 1234;
    int ticks = argc > 2 ? atoi(argv[2]) : 50;
    int interval_ms = argc > 3 ? atoi(argv[3]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out as printed, into a pipe too */

    int shmid = shmget(key, sizeof(struct Conn_stat), 0666 | IPC_CREAT);
    if (shmid == -1) {
        perror("shmget");
        exit(1);
    }
    struct Conn_stat *stat = shmat(shmid, NULL, 0);
    if (stat == (void *)-1) {
        perror("shmat");
        exit(2);
    }
    printf("Memory attached at %p\n", (void *)stat);

    struct Conn_stat initial = {0, "127.0.0.1"};
    memcpy(stat, &initial, sizeof initial);
    for (int i = 0; i < ticks; i++) {
        usleep(interval_ms * 1000);
        stat->count++;
    }
    if (shmdt(stat) == -1) {
        perror("shmdt");
        exit(3);
    }
    return 0;
}
