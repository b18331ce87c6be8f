/*
 * The C peer of the System V programs' tests: plain msgget, msgsnd and msgrcv, as a C program
 * written against <sys/msg.h> would call them.
 *
 *   msg_peer send KEY TYPE HEX     sends the bytes HEX spells (two hex digits a byte) with TYPE
 *   msg_peer recv KEY TYPE         receives one message as msgrcv(msgtyp = TYPE) selects it and
 *                                  prints "type=T len=N hex=…"; waits for one; on failure prints
 *                                  "msgrcv: <strerror>" on stderr and exits 1
 *   msg_peer stream KEY COUNT      sends COUNT messages of 8 bytes: the sequence number and its
 *                                  type, both uint32 little-endian; types cycle 1, 2, 3
 *
 * KEY is decimal or 0x hex.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct message {
    long mtype;
    unsigned char mtext[8192];
};

static int open_queue(const char *key_text) {
    key_t key = (key_t)strtoul(key_text, NULL, 0);
    int id = msgget(key, 0);
    if (id < 0) {
        perror("msgget");
        exit(1);
    }
    return id;
}

static void send_or_die(int id, struct message *m, size_t length) {
    while (msgsnd(id, m, length, 0) < 0) {
        if (errno == EINTR) continue;
        perror("msgsnd");
        exit(1);
    }
}

int main(int argc, char **argv) {
    static struct message m;
    if (argc == 5 && strcmp(argv[1], "send") == 0) {
        int id = open_queue(argv[2]);
        m.mtype = strtol(argv[3], NULL, 0);
        size_t length = strlen(argv[4]) / 2;
        for (size_t i = 0; i < length; i++) sscanf(argv[4] + 2 * i, "%2hhx", &m.mtext[i]);
        send_or_die(id, &m, length);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "recv") == 0) {
        int id = open_queue(argv[2]);
        printf("ready\n");
        fflush(stdout);
        ssize_t n = msgrcv(id, &m, sizeof m.mtext, strtol(argv[3], NULL, 0), 0);
        if (n < 0) {
            fprintf(stderr, "msgrcv: %s\n", strerror(errno));
            return 1;
        }
        printf("type=%ld len=%zd hex=", m.mtype, n);
        for (ssize_t i = 0; i < n; i++) printf("%02x", m.mtext[i]);
        printf("\n");
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "stream") == 0) {
        int id = open_queue(argv[2]);
        long count = strtol(argv[3], NULL, 0);
        for (uint32_t i = 0; i < (uint32_t)count; i++) {
            uint32_t type = 1 + i % 3;
            m.mtype = type;
            memcpy(m.mtext, &i, 4);
            memcpy(m.mtext + 4, &type, 4);
            send_or_die(id, &m, 8);
        }
        return 0;
    }
    fprintf(stderr, "usage: msg_peer send KEY TYPE HEX | recv KEY TYPE | stream KEY COUNT\n");
    return 2;
}
