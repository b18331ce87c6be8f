/*
 * Test peer for pipe-stream.test.ts, not a tutorial program: writes 1 MiB of the pattern
 * byte i = (i * 31 + 7) mod 251 to stdout, in 1000-byte write() calls.
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  static unsigned char data[1 << 20];
  for (long i = 0; i < (long)sizeof data; i++) data[i] = (unsigned char)((i * 31 + 7) % 251);
  for (size_t done = 0; done < sizeof data;) {
    size_t size = sizeof data - done < 1000 ? sizeof data - done : 1000;
    ssize_t n = write(1, data + done, size);
    if (n < 0) { perror("write"); return 1; }
    done += (size_t)n;
  }
  return 0;
}
