/**
 * Every struct layout declared in TypeScript, compared with what the C compiler says about the same
 * struct on this machine: sizeof and every offsetof. Hand-counted bytes are not trusted. (The ring
 * channel's header is checked the same way in ring.test.ts, against the C struct in RING.md.)
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { koffi, type KoffiType } from "../ffi/libc.ts";
import { ConnStat } from "../../fixtures/conn-stat.ts";
import { IpcPerm } from "./sys/ipc.ts";
import { ShmidDs } from "./sys/shm.ts";
import { struct_stat } from "./sys/stat.ts";
import { Sembuf, SemidDs, Semun } from "./sys/sem.ts";
import { SEM_T_SIZE } from "./semaphore.ts";
import { Timespec } from "./time.ts";
import { FutexWaitv } from "./linux/futex.ts";
import { Pollfd } from "./poll.ts";
import { MsqidDs } from "./sys/msg.ts";
import { MqAttr } from "./mqueue.ts";
import { Sigevent } from "./signal.ts";
import * as socket from "./sys/socket.ts";
import { Cmsghdr, CMSG_LEN, CMSG_SPACE, Iovec, Msghdr, Ucred } from "./sys/socket.ts";
import { SockaddrUn, SUN_PATH_SIZE } from "./sys/un.ts";
import * as fcntl from "./fcntl.ts";
import { compileC, cSkipReason, removeCompiled } from "@linux-ipc/testing/vitest";

interface CStruct {
  /** The C type as written in C: `struct stat`. */
  cType: string;
  headers: string[];
  /** The TypeScript side: size and the offset of each field that C names. */
  size: number;
  offsets: Record<string, number>;
  /** C declarations needed before use (for the examples' own structs). */
  prelude?: string;
}

function fromKoffi(type: KoffiType, fields: string[]): { size: number; offsets: Record<string, number> } {
  return { size: koffi.sizeof(type), offsets: Object.fromEntries(fields.map((f) => [f, koffi.offsetof(type, f)])) };
}

const publicFields = (offsets: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(offsets).filter(([name]) => !name.startsWith("__")));

const structs: CStruct[] = [
  {
    cType: "struct Conn_stat",
    headers: [],
    prelude: "struct Conn_stat { int count; char ip[64]; };",
    size: ConnStat.size,
    offsets: ConnStat.offsets,
  },
  { cType: "struct ipc_perm", headers: ["sys/ipc.h"], size: IpcPerm.size, offsets: { ...publicFields(IpcPerm.offsets), __key: IpcPerm.offsets.__key, __seq: IpcPerm.offsets.__seq } },
  { cType: "struct shmid_ds", headers: ["sys/shm.h"], size: ShmidDs.size, offsets: publicFields(ShmidDs.offsets) },
  { cType: "struct sembuf", headers: ["sys/sem.h"], size: Sembuf.size, offsets: Sembuf.offsets },
  { cType: "struct semid_ds", headers: ["sys/sem.h"], size: SemidDs.size, offsets: publicFields(SemidDs.offsets) },
  {
    // The caller defines union semun in C (glibc's <sys/sem.h> leaves it undefined on purpose).
    cType: "union semun",
    headers: ["sys/sem.h"],
    prelude: "union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };",
    size: Semun.size,
    offsets: Semun.offsets,
  },
  { cType: "struct msqid_ds", headers: ["sys/msg.h"], size: MsqidDs.size, offsets: { ...publicFields(MsqidDs.offsets), __msg_cbytes: MsqidDs.offsets.__msg_cbytes } },
  { cType: "struct mq_attr", headers: ["mqueue.h"], size: MqAttr.size, offsets: publicFields(MqAttr.offsets) },
  { cType: "struct sigevent", headers: ["signal.h"], size: Sigevent.size, offsets: Sigevent.offsets },
  { cType: "sem_t", headers: ["semaphore.h"], size: SEM_T_SIZE, offsets: { __size: 0, __align: 0 } },
  { cType: "struct timespec", headers: ["time.h"], size: Timespec.size, offsets: Timespec.offsets },
  { cType: "struct futex_waitv", headers: ["linux/futex.h"], size: FutexWaitv.size, offsets: FutexWaitv.offsets },
  { cType: "struct pollfd", headers: ["poll.h"], size: Pollfd.size, offsets: Pollfd.offsets },
  { cType: "struct sockaddr_un", headers: ["sys/un.h"], size: SockaddrUn.size, offsets: SockaddrUn.offsets },
  { cType: "struct msghdr", headers: ["sys/socket.h"], size: Msghdr.size, offsets: Msghdr.offsets },
  { cType: "struct cmsghdr", headers: ["sys/socket.h"], size: Cmsghdr.size, offsets: Cmsghdr.offsets },
  { cType: "struct ucred", headers: ["sys/socket.h"], size: Ucred.size, offsets: Ucred.offsets },
  { cType: "struct iovec", headers: ["sys/uio.h"], size: Iovec.size, offsets: Iovec.offsets },
  {
    cType: "struct stat",
    headers: ["sys/stat.h"],
    ...fromKoffi(struct_stat, ["st_dev", "st_ino", "st_nlink", "st_mode", "st_uid", "st_gid", "st_rdev", "st_size", "st_blksize", "st_blocks", "st_atim", "st_mtim", "st_ctim"]),
  },
];

function cProgram(): string {
  const headers = new Set(["stdio.h", "stddef.h", ...structs.flatMap((s) => s.headers)]);
  // _GNU_SOURCE for struct ucred.
  const lines = ["#define _GNU_SOURCE", ...[...headers].map((h) => `#include <${h}>`)];
  lines.push(...structs.flatMap((s) => (s.prelude ? [s.prelude] : [])));
  lines.push("int main(void) {");
  for (const s of structs) {
    lines.push(`  printf("%s sizeof %zu\\n", "${s.cType}", sizeof(${s.cType}));`);
    for (const field of Object.keys(s.offsets)) {
      lines.push(`  printf("%s %s %zu\\n", "${s.cType}", "${field}", offsetof(${s.cType}, ${field}));`);
    }
  }
  lines.push("  return 0;", "}");
  return lines.join("\n");
}

const skip = cSkipReason();

describe.skipIf(skip !== null)("struct layouts against the C compiler", () => {
  afterAll(removeCompiled);
  const answers = new Map<string, number>();
  const answer = (key: string): number => {
    if (answers.size === 0) {
      const output = execFileSync(compileC("layout", cProgram()), { encoding: "utf8" });
      for (const line of output.trim().split("\n")) {
        const at = line.lastIndexOf(" ");
        answers.set(line.slice(0, at), Number(line.slice(at + 1)));
      }
    }
    const value = answers.get(key);
    if (value === undefined) throw new Error(`the C program printed nothing for ${key}`);
    return value;
  };

  for (const s of structs) {
    it(`${s.cType}: sizeof and every offsetof match`, () => {
      const c = { size: answer(`${s.cType} sizeof`), offsets: Object.fromEntries(Object.keys(s.offsets).map((f) => [f, answer(`${s.cType} ${f}`)])) };
      expect({ size: s.size, offsets: s.offsets }).toEqual(c);
      expect(Object.keys(s.offsets).length).toBeGreaterThan(1);
    });
  }
});

/** Constants declared in TypeScript whose C headers define them, and the values TypeScript gives them. */
const constants: Record<string, number> = {
  ...Object.fromEntries(
    ["SOCK_STREAM", "SOCK_DGRAM", "SOCK_SEQPACKET", "SOCK_NONBLOCK", "SOCK_CLOEXEC", "SOL_SOCKET", "SO_TYPE", "SO_ERROR", "SO_SNDBUF", "SO_RCVBUF", "SO_PASSCRED", "SO_PEERCRED", "SO_ACCEPTCONN", "SCM_RIGHTS", "SCM_CREDENTIALS", "MSG_PEEK", "MSG_CTRUNC", "MSG_TRUNC", "MSG_DONTWAIT", "MSG_EOR", "MSG_WAITALL", "MSG_NOSIGNAL", "MSG_CMSG_CLOEXEC", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "SOMAXCONN", "AF_UNIX", "AF_LOCAL"].map((name) => [name, (socket as unknown as Record<string, number>)[name]!]),
  ),
  ...Object.fromEntries(["F_ADD_SEALS", "F_GET_SEALS", "F_SEAL_SEAL", "F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_WRITE", "F_SEAL_FUTURE_WRITE"].map((name) => [name, (fcntl as unknown as Record<string, number>)[name]!])),
  "sizeof(((struct sockaddr_un *)0)->sun_path)": SUN_PATH_SIZE,
  ...Object.fromEntries([0, 1, 4, 8, 12, 13, 4 * 253].flatMap((n) => [[`CMSG_LEN(${n})`, CMSG_LEN(n)], [`CMSG_SPACE(${n})`, CMSG_SPACE(n)]])),
};

describe.skipIf(skip !== null)("constants against the C compiler", () => {
  afterAll(removeCompiled);

  it("every socket, sealing and CMSG_* value matches the C headers'", () => {
    const source = [
      "#define _GNU_SOURCE",
      "#include <stdio.h>",
      "#include <fcntl.h>",
      "#include <sys/socket.h>",
      "#include <sys/un.h>",
      "int main(void) {",
      ...Object.keys(constants).map((expression) => `  printf("%s %ld\\n", ${JSON.stringify(expression)}, (long)(${expression}));`),
      "  return 0;",
      "}",
    ].join("\n");
    const output = execFileSync(compileC("constants", source), { encoding: "utf8" });
    const c = Object.fromEntries(output.trim().split("\n").map((line) => {
      const at = line.lastIndexOf(" ");
      return [line.slice(0, at), Number(line.slice(at + 1))];
    }));
    expect(constants).toEqual(c);
    expect(Object.values(constants).every((value) => Number.isInteger(value))).toBe(true);
  });
});

if (skip !== null) it.skip(skip, () => {});
