/*
 * Test peer for parent-child.test.ts: the parent half of P10 (c/parent-child.c) alone, reading the
 * pipe given as its stdin, so the TypeScript child can write to it.
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  char buffer[64];
  for (;;) {
    buffer[0] = 0;
    ssize_t s = read(0, buffer, sizeof(buffer) - 1);
    if (s > 0) {
      buffer[s] = 0;
      printf("parent get message from child : %s\n", buffer);
    } else if (s == 0) {
      printf("child is quit!!!\n");
      break;
    } else {
      break;
    }
  }
  return 0;
}
