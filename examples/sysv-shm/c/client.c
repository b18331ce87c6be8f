/*
 * P14 (docs/tutorials.md): the client of a segment found with ftok.
 *
 * Gets the segment for ftok(PATH, PROJ_ID) (IPC_CREAT without mode bits: started before the server,
 * it makes a mode-0 segment), prints its key and id, attaches it, and every INTERVAL_MS writes the
 * next letter and a NUL after it, TICKS times, so the server prints A, AB, ABC, ... Then it detaches.
 * Exit codes 1 and 2 when ftok and shmget fail; what shmat returns is used unchecked.
 *
 * usage: client [PATH [PROJ_ID [TICKS [INTERVAL_MS]]]]   (the tutorial's ./tmp, 0x6666, 26 and one
 *        second by default)
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
    int shm = shmget(key, SIZE, IPC_CREAT);
    if (shm < 0) {
        perror("shmget");
        return 2;
    }
    printf("key: %x\n", key);
    printf("shm: %d\n", shm);

    char *mem = shmat(shm, NULL, 0);
    for (int i = 0; i < ticks && i < 26; i++) {
        mem[i] = 'A' + i;
        mem[i + 1] = '\0';
        usleep(interval_ms * 1000);
    }
    shmdt(mem);
    return 0;
}
