/**
 * Every struct layout declared in TypeScript, compared with what the C compiler says about the same
 * struct on this machine: sizeof and every offsetof. Hand-counted bytes are not trusted. (The ring
 * channel's header is checked the same way in ring.test.ts, against the C struct in RING.md.)
 *
 * Every constant of the libc modules too: each upper-case number a module exports (and each one it
 * keeps to itself) is compared with the C macro of the same name in the module's header
 * (libc/sys/mman.ts: <sys/mman.h>), and every errno name with <errno.h>. A new module or constant is
 * checked without a line here; one whose C side is not a macro of that name needs one line in
 * `cExpressions` (or in `notInC`, saying why it has no C counterpart). The few C constants that ipc/
 * modules keep beside their one use (epoll's, RWF_NOWAIT, IN_OPEN, FIONREAD) are listed by name.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
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
import { Errno } from "./errno.ts";
import * as pipeIo from "../ipc/pipe_io.ts";
import { Cmsghdr, CMSG_LEN, CMSG_SPACE, Iovec, Msghdr, Ucred } from "./sys/socket.ts";
import { SockaddrUn } from "./sys/un.ts";
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

const publicFields = (offsets: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(offsets).filter(([name]) => !name.startsWith("__")));

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

/** Where a constant's C value is not the macro of its own name: the C expression that gives it. */
const cExpressions: Record<string, string> = {
  SIGSET_T_SIZE: "sizeof(sigset_t)",
  SEM_T_SIZE: "sizeof(sem_t)",
  SEM_T_ALIGNMENT: "_Alignof(sem_t)",
  MSGBUF_HEADER_SIZE: "offsetof(struct msgbuf, mtext)",
  PAGE_SIZE: "sysconf(_SC_PAGESIZE)",
  WAKE_ALL: "INT_MAX", // futex(2): INT_MAX wakes every waiter
  SUN_PATH_SIZE: "sizeof(((struct sockaddr_un *)0)->sun_path)",
  CREDENTIALS_SPACE: "CMSG_SPACE(sizeof(struct ucred))",
  SIZE_T_ALIGN: "_Alignof(size_t)",
  INT_SIZE: "sizeof(int)",
};

/** Constants with no C counterpart to compare with, and why. */
const notInC: Record<string, string> = {
  SEMVMX: "defined in <linux/sem.h> only, whose structs clash with glibc's <sys/sem.h>",
  SCM_MAX_FD: "the kernel's own limit (include/net/scm.h), in no userspace header",
};

/** Headers every constant may come from besides its module's own (PIPE_BUF, SEM_VALUE_MAX, SYS_*). */
const commonHeaders = ["stddef.h", "stdint.h", "limits.h", "unistd.h", "sys/syscall.h"];

interface CConstant {
  name: string;
  value: number | bigint;
  /** The C expression printed for it. */
  expression: string;
}

const libcDir = fileURLToPath(new URL(".", import.meta.url));
const modulePaths = readdirSync(libcDir, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
  .sort();

// C's spelling of a constant: PROT_READ, EAGAIN, _SC_PAGESIZE, SYS_futex.
const isConstantName = (name: string): boolean => /^_?[A-Z][A-Z0-9]*(_\w+)?$/.test(name);

/** What a module declares with `const NAME = …;` at its top level, as written, by name (`exported`: whether it is exported). */
function declaredNumbers(source: string, exported = true): Map<string, string> {
  const declarations = source.matchAll(/^(export )?const (\w+)(?:: number)? = ([^;]+);/gm);
  return new Map([...declarations].filter(([, exportKeyword]) => exported || exportKeyword === undefined).map(([, , name, literal]) => [name ?? "", literal ?? ""]));
}

/** A number as the source writes it: a literal (0x20, 0o1000, 4_096) or a shift (1 << 30). */
function numberLiteral(literal: string, where: string): number {
  const shift = /^(\d+) << (\d+)$/.exec(literal);
  const value = shift ? Number(shift[1]) * 2 ** Number(shift[2]) : Number(literal.replaceAll("_", ""));
  if (!Number.isFinite(value)) throw new Error(`${where} = ${literal} is no number literal; export it so this test can compare its value with C`);
  return value;
}

// Numbers a module declares without exporting them: read from its source.
function privateConstants(source: string, file: string): Array<[string, number]> {
  return [...declaredNumbers(source, false)].filter(([name]) => isConstantName(name)).map(([name, literal]) => [name, numberLiteral(literal, `${file}: ${name}`)]);
}

/** C constants that ipc/ modules keep beside their one use, read from their source. */
const ipcConstants = [
  { file: "../ipc/poll.ts", header: "sys/epoll.h", names: ["EPOLL_CTL_ADD", "EPOLL_CTL_MOD", "EPOLLIN", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLONESHOT"] },
  { file: "../ipc/pipe_io.ts", header: "sys/uio.h", names: ["RWF_NOWAIT"] },
  { file: "../ipc/fifo.ts", header: "sys/inotify.h", names: ["IN_OPEN"] },
];

/** The constants to compare, grouped by the header that defines them. */
const constantsByHeader = new Map<string, CConstant[]>();
function addConstant(header: string, name: string, value: number | bigint): void {
  if (name in notInC) return;
  const list = constantsByHeader.get(header) ?? [];
  list.push({ name, value, expression: cExpressions[name] ?? name });
  constantsByHeader.set(header, list);
}
for (const file of modulePaths) {
  const header = file.replace(/\.ts$/, ".h");
  const exports: Record<string, unknown> = await import(pathToFileURL(libcDir + file).href);
  for (const [name, value] of Object.entries(exports)) {
    if (isConstantName(name) && (typeof value === "number" || typeof value === "bigint")) addConstant(header, name, value);
  }
  for (const [name, value] of privateConstants(readFileSync(libcDir + file, "utf8"), file)) addConstant(header, name, value);
}
constantsByHeader.delete("errno.h"); // errno.ts exports no constant of its own; its table is checked whole:
for (const [name, value] of Object.entries(Errno)) addConstant("errno.h", name, value);
addConstant("sys/ioctl.h", "FIONREAD", pipeIo.FIONREAD); // an ioctl request that lives beside its one use
for (const { file, header, names } of ipcConstants) {
  const declared = declaredNumbers(readFileSync(libcDir + file, "utf8"));
  for (const name of names) {
    const literal = declared.get(name);
    if (literal === undefined) throw new Error(`${file} declares no ${name} any more: take it out of ipcConstants`);
    addConstant(header, name, numberLiteral(literal, `${file}: ${name}`));
  }
}
const allConstants = [...constantsByHeader.values()].flat();

function constantsProgram(): string {
  const headers = [...commonHeaders, ...constantsByHeader.keys()];
  const lines = ["#define _GNU_SOURCE", "#include <stdio.h>", ...headers.map((h) => `#include <${h}>`), "int main(void) {"];
  for (const { name, value, expression } of allConstants) {
    // Through (u)intptr_t, so that pointer-valued macros (SIG_DFL, MAP_FAILED) print as numbers.
    if (typeof value === "bigint") lines.push(`  printf("%s %llu\\n", "${name}", (unsigned long long)(uintptr_t)(${expression}));`);
    else lines.push(`  printf("%s %lld\\n", "${name}", (long long)(intptr_t)(${expression}));`);
  }
  lines.push("  return 0;", "}");
  return lines.join("\n");
}

describe.skipIf(skip !== null)(`${allConstants.length} constants against the C compiler`, () => {
  afterAll(removeCompiled);
  let printed: Map<string, string> | undefined;
  const cValues = (): Map<string, string> => {
    printed ??= new Map(
      execFileSync(compileC("constants", constantsProgram()), { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((line) => line.split(" ") as [string, string]),
    );
    return printed;
  };

  for (const [header, constants] of constantsByHeader) {
    it(`<${header}>: ${constants.map((c) => c.name).join(", ")}`, () => {
      const fromC = (name: string, value: number | bigint): number | bigint => {
        const printed = cValues().get(name);
        if (printed === undefined) throw new Error(`the C program printed nothing for ${name}`);
        return typeof value === "bigint" ? BigInt(printed) : Number(printed);
      };
      const ours = Object.fromEntries(constants.map(({ name, value }) => [name, value]));
      expect(ours).toEqual(Object.fromEntries(constants.map(({ name, value }) => [name, fromC(name, value)])));
    });
  }
});

describe.skipIf(skip !== null)("CMSG_LEN and CMSG_SPACE against the C macros", () => {
  afterAll(removeCompiled);

  it("give C's sizes for 0 to 253 descriptors' worth of data", () => {
    const sizes = [0, 1, 4, 8, 12, 13, 4 * 253];
    const source = [
      "#include <stdio.h>",
      "#include <sys/socket.h>",
      "int main(void) {",
      ...sizes.map((n) => `  printf("%zu %zu\\n", (size_t)CMSG_LEN(${n}), (size_t)CMSG_SPACE(${n}));`),
      "  return 0;",
      "}",
    ].join("\n");
    const fromC = execFileSync(compileC("cmsg", source), { encoding: "utf8" }).trim().split("\n");
    expect(sizes.map((n) => `${CMSG_LEN(n)} ${CMSG_SPACE(n)}`)).toEqual(fromC);
  });
});

if (skip !== null) it.skip(skip, () => {});
