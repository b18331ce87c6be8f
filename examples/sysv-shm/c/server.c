/*
 * P13 (docs/tutorials.md): the server of a segment found with ftok.
 *
 * Creates a 4096-byte segment for ftok(PATH, PROJ_ID) (IPC_CREAT | IPC_EXCL, mode 0666), prints its
 * key and id, attaches it, prints the string in it every INTERVAL_MS, TICKS times, then detaches and
 * removes it. Exit codes 1 and 2 when ftok and shmget fail; what shmat returns is used unchecked.
 *
 * usage: server [PATH [PROJ_ID [TICKS [INTERVAL_MS]]]]   (the tutorial's ./tmp, 0x6666, 26 and one
 *        second by default; PATH must exist)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#define SIZE 4096

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./tmp";
    int proj_id = argc > 2 ? (int)strtol(argv[2], NULL, 0) : 0x6666;
    int ticks = argc > 3 ? atoi(argv[3]) : 26;
    int interval_ms = argc > 4 ? atoi(argv[4]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line out as printed, into a pipe too */

    key_t key = ftok(path, proj_id);
    if (key < 0) {
        perror("ftok");
        return 1;
    }
    int shm = shmget(key, SIZE, IPC_CREAT | IPC_EXCL | 0666);
    if (shm < 0) {
        perror("shmget");
        return 2;
    }
    printf("key: %x\n", key);
    printf("shm: %d\n", shm);

    char *mem = shmat(shm, NULL, 0);
    for (int i = 0; i < ticks; i++) {
        printf("%s\n", mem);
        usleep(interval_ms * 1000);
    }
    shmdt(mem);
    shmctl(shm, IPC_RMID, NULL);
    return 0;
}
