/*
 * C reference for the per-call overhead measures: the cost of the system call itself, without any
 * language binding in between.
 *
 *   syscalls write COUNT    write(2) of 64 bytes to /dev/null, COUNT times
 *   syscalls getppid COUNT  getppid(2), COUNT times (glibc does not cache it)
 *
 * Prints {"seconds":…,"count":…}.
 */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s write|getppid COUNT\n", argv[0]);
        return 2;
    }
    long count = parse_count(argv[2], "COUNT");
    char message[64] = {0};
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) die("/dev/null");
    int write_mode = strcmp(argv[1], "write") == 0;
    if (!write_mode && strcmp(argv[1], "getppid") != 0) {
        fprintf(stderr, "unknown call '%s'\n", argv[1]);
        return 2;
    }
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        if (write_mode) {
            if (write(fd, message, sizeof message) != sizeof message) die("write");
        } else {
            /* The empty asm keeps the compiler from hoisting the call out of the loop. */
            pid_t parent = getppid();
            __asm__ volatile("" : : "r"(parent));
        }
    }
    printf("{\"seconds\":%.9f,\"count\":%ld}\n", now_seconds() - start, count);
    return 0;
}
