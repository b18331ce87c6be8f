/*
 * Test peer for client.test.ts, not a tutorial program:
 * server.c, except that it takes PATH and PROJ_ID, fills the segment with '#', and prints the string
 * (and the two bytes after it) once, when a line arrives on stdin.
 * usage: ftok-server PATH PROJ_ID
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
int main(int argc, char **argv) {
  key_t key = ftok(argv[1], (int)strtol(argv[2], NULL, 0));
  if (key < 0) { perror("ftok"); return 1; }
  int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
  if (shm < 0) { perror("shmget"); return 2; }
  char *mem = shmat(shm, NULL, 0);
  if (mem == (void *)-1) { perror("shmat"); shmctl(shm, IPC_RMID, NULL); return 3; }
  memset(mem, '#', 4096);
  printf("key: %x\n", key);
  printf("shm: %d\n", shm);
  fflush(stdout);
  getchar();
  size_t length = strnlen(mem, 4096);
  printf("%s\nthen: %d %d\n", mem, mem[length], mem[length + 1]);
  shmdt(mem);
  shmctl(shm, IPC_RMID, NULL);
  return 0;
}
