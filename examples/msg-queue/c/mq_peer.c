/*
 * The C peer of the POSIX programs' tests: plain mq_open, mq_send and mq_receive, as a C program
 * written against <mqueue.h> would call them.
 *
 *   mq_peer send NAME PRIORITY HEX  sends the bytes HEX spells (two hex digits a byte) with PRIORITY
 *   mq_peer recv NAME               receives one message and prints "priority=P len=N hex=…"
 *   mq_peer stream NAME COUNT       sends COUNT messages of 8 bytes: the sequence number and its
 *                                   priority, both uint32 little-endian; priorities cycle 0 to 3
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mqd_t open_queue(const char *name, int flags) {
    mqd_t q = mq_open(name, flags);
    if (q == (mqd_t)-1) {
        perror("mq_open");
        exit(1);
    }
    return q;
}

static void send_or_die(mqd_t q, const void *bytes, size_t length, unsigned priority) {
    while (mq_send(q, bytes, length, priority) < 0) {
        if (errno == EINTR) continue;
        perror("mq_send");
        exit(1);
    }
}

int main(int argc, char **argv) {
    static unsigned char bytes[65536];
    if (argc == 5 && strcmp(argv[1], "send") == 0) {
        mqd_t q = open_queue(argv[2], O_WRONLY);
        size_t length = strlen(argv[4]) / 2;
        for (size_t i = 0; i < length; i++) sscanf(argv[4] + 2 * i, "%2hhx", &bytes[i]);
        send_or_die(q, bytes, length, (unsigned)strtoul(argv[3], NULL, 0));
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "recv") == 0) {
        mqd_t q = open_queue(argv[2], O_RDONLY);
        struct mq_attr attr;
        if (mq_getattr(q, &attr) < 0) {
            perror("mq_getattr");
            return 1;
        }
        unsigned priority;
        ssize_t n = mq_receive(q, (char *)bytes, (size_t)attr.mq_msgsize, &priority);
        if (n < 0) {
            perror("mq_receive");
            return 1;
        }
        printf("priority=%u len=%zd hex=", priority, n);
        for (ssize_t i = 0; i < n; i++) printf("%02x", bytes[i]);
        printf("\n");
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "stream") == 0) {
        mqd_t q = open_queue(argv[2], O_WRONLY);
        long count = strtol(argv[3], NULL, 0);
        for (uint32_t i = 0; i < (uint32_t)count; i++) {
            uint32_t priority = i % 4;
            memcpy(bytes, &i, 4);
            memcpy(bytes + 4, &priority, 4);
            send_or_die(q, bytes, 8, priority);
        }
        return 0;
    }
    fprintf(stderr, "usage: mq_peer send NAME PRIORITY HEX | recv NAME | stream NAME COUNT\n");
    return 2;
}
