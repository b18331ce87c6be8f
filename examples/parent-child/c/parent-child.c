/*
 * P1 (docs/tutorials.md): a parent and its child share a mapping.
 *
 * Maps the start of FILE shared, forks, and the parent copies MESSAGE into the mapping while the
 * child, after a microsecond's sleep, prints what it finds there. Nothing makes the child wait for
 * the parent: it may print an empty string. FILE must already hold the 4000 bytes mapped: touching a
 * mapped page past the end of the file raises SIGBUS (create one with `head -c 4096 /dev/zero > FILE`).
 *
 * usage: parent-child [FILE [MESSAGE]]   (the tutorial's ./abc.txt and 我是你爹 by default)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAPPED 4000

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./abc.txt";
    const char *message = argc > 2 ? argv[2] : "我是你爹";

    int fd = open(path, O_RDWR | O_CREAT, 0666);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    char *p = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    close(fd); /* the mapping keeps the file */

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        usleep(1); /* hoping the parent has written by now: nothing guarantees it */
        printf("从映射区读到的数据: %s\n", p);
        munmap(p, MAPPED);
        return 0;
    }
    strncpy(p, message, MAPPED - 1);
    wait(NULL);
    munmap(p, MAPPED);
    return 0;
}
