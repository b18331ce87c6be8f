/*
 * P6 (docs/tutorials.md): shmread prints the struct Conn_stat that shmwrite keeps in System V shared
 * memory, then removes the segment.
 *
 * Gets the segment for KEY (with IPC_CREAT too: started first, it makes an empty one), attaches it,
 * prints its address, prints `ip = <ip> ,count: <count>` (and two tabs) READS times, every
 * INTERVAL_MS, detaches, and removes the segment. A failed shmget exits 0; exit codes 2 and 3 when
 * shmat and shmdt fail.
 *
 * usage: shmread [KEY [READS [INTERVAL_MS]]]   (the tutorial's 1234, 10 and one second by default)
 */
#include <errno.h>
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
    int reads = argc > 2 ? atoi(argv[2]) : 10;
    int interval_ms = argc > 3 ? atoi(argv[3]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out as printed, into a pipe too */

    int shmid = shmget(key, sizeof(struct Conn_stat), 0666 | IPC_CREAT);
    if (shmid == -1) {
        perror("shmget");
        exit(0);
    }
    struct Conn_stat *stat = shmat(shmid, NULL, 0);
    if (stat == (void *)-1) {
        perror("shmat");
        exit(2);
    }
    printf("\nMemory attached at %p\n", (void *)stat);
    for (int i = 0; i < reads; i++) {
        printf("ip = %s ,count: %d\t\t\n", stat->ip, stat->count);
        usleep(interval_ms * 1000);
    }
    if (shmdt(stat) == -1) {
        perror("shmdt");
        exit(3);
    }
    if (shmctl(shmid, IPC_RMID, NULL) == -1) printf("shmctl(IPC_RMID) failed, reason: %s\n", strerror(errno));
    return 0;
}
