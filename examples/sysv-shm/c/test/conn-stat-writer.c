/*
 * Test peer for shmread.test.ts, not a tutorial program.
 * A C writer with the tutorial's struct: creates the segment (IPC_EXCL, so a key clash fails loudly),
 * stores {COUNT, "10.0.0.7"}, then adds 1 to count for each line on stdin; detaches at end of input.
 * usage: conn-stat-writer KEY COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
struct Conn_stat { int count; char ip[64]; };
int main(int argc, char **argv) {
  key_t key = (key_t)strtol(argv[1], NULL, 0);
  int id = shmget(key, sizeof(struct Conn_stat), 0666 | IPC_CREAT | IPC_EXCL);
  if (id == -1) { perror("shmget"); return 1; }
  struct Conn_stat *stat = shmat(id, NULL, 0);
  if (stat == (void *)-1) { perror("shmat"); return 2; }
  struct Conn_stat initial = { atoi(argv[2]), "10.0.0.7" };
  memcpy(stat, &initial, sizeof initial);
  printf("ready %d\n", id);
  fflush(stdout);
  for (int c; (c = getchar()) != EOF;) {
    if (c != '\n') continue;
    stat->count++;
    printf("count %d\n", stat->count);
    fflush(stdout);
  }
  if (shmdt(stat) == -1) { perror("shmdt"); return 3; }
  return 0;
}
