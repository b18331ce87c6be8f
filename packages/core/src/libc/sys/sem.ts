/**
 * <sys/sem.h>: System V semaphore sets (semget, semop, semtimedop, semctl) and `struct sembuf`,
 * `union semun`, `struct semid_ds`. The object over them, `SemaphoreSet`, and the async waits are
 * in ipc/semaphore_set.ts.
 *
 * A semaphore set, like a shared memory segment, outlives every process until it is removed
 * (IPC_RMID); `ipcs -s` lists them. SEM_UNDO makes the kernel reverse a process's operations when it
 * exits, however it exits, so a holder killed with SIGKILL does not leave the lock taken.
 */
import { checkInt16, checkInt32, checkInteger, checkKey, checkUint16 } from "../../ffi/checks.ts";
import { koffi, libc, lastErrno } from "../../ffi/libc.ts";
import { defineStruct, type SnapshotOf } from "../../ffi/struct.ts";
import { Errno, check, errnoError } from "../errno.ts";
import { Timespec, timespecFromMs, type TimespecValue } from "../time.ts";
import { IpcPerm, IPC_STAT, formatKey } from "./ipc.ts";

/** Flag for semop: undo the operation when the process exits. */
export const SEM_UNDO = 0x1000;
/** semctl command: the pid of the last process that operated on the semaphore. */
export const GETPID = 11;
/** semctl command: the semaphore's value. */
export const GETVAL = 12;
/** semctl command: every value of the set, into an array of unsigned shorts. */
export const GETALL = 13;
/** semctl command: how many processes wait for the semaphore to grow. */
export const GETNCNT = 14;
/** semctl command: how many processes wait for the semaphore to become zero. */
export const GETZCNT = 15;
/** semctl command: set the semaphore's value. */
export const SETVAL = 16;
/** semctl command: set every value of the set from an array of unsigned shorts. */
export const SETALL = 17;
/** The largest value a semaphore holds (SEMVMX). */
export const SEMVMX = 32767;

/** `struct sembuf`: one operation of a semop call. */
export const Sembuf = defineStruct("sembuf", {
  sem_num: "uint16",
  sem_op: "int16",
  sem_flg: "int16",
});

/**
 * `union semun`, semctl's fourth argument, which the caller defines in C (glibc's <sys/sem.h> says
 * so with _SEM_SEMUN_UNDEFINED). Every member is at offset 0; it is passed by value, pointer-sized.
 */
export const semun = koffi.union("semun", { val: "int", buf: "void *", array: "void *", __buf: "void *" });
/**
 * `union semun` as a layout (name, size, offsets, koffi type), like the structs made with
 * defineStruct.
 */
export const Semun = {
  name: "semun",
  size: koffi.sizeof(semun),
  offsets: { val: 0, buf: 0, array: 0, __buf: 0 },
  type: semun,
} as const;

/** glibc's `struct semid_ds` on 64-bit Linux (x86_64 keeps the *_high padding words; arm64 has none). */
export const SemidDs =
  process.arch === "x64"
    ? defineStruct("semid_ds", {
        sem_perm: { struct: IpcPerm },
        sem_otime: "int64",
        __sem_otime_high: "uint64",
        sem_ctime: "int64",
        __sem_ctime_high: "uint64",
        sem_nsems: "uint64",
        __glibc_reserved3: "uint64",
        __glibc_reserved4: "uint64",
      })
    : defineStruct("semid_ds", {
        sem_perm: { struct: IpcPerm },
        sem_otime: "int64",
        sem_ctime: "int64",
        sem_nsems: "uint64",
        __glibc_reserved3: "uint64",
        __glibc_reserved4: "uint64",
      });

/** `struct semid_ds` read into a plain object by `semStat`. */
export interface SemidDsSnapshot {
  /** Owner, creator, mode and key. */
  sem_perm: SnapshotOf<typeof IpcPerm>;
  /** The time of the last semop, in seconds since the epoch (0 before the first). */
  sem_otime: number;
  /** The time of creation or of the last IPC_SET, in seconds since the epoch. */
  sem_ctime: number;
  /** How many semaphores the set holds. */
  sem_nsems: number;
}

const semget_c = libc.func("int semget(key_t key, int nsems, int semflg)");
const semop_c = libc.func(`int semop(int semid, ${Sembuf.name} *sops, size_t nsops)`);
const semtimedop_c = libc.func(`int semtimedop(int semid, ${Sembuf.name} *sops, size_t nsops, const ${Timespec.name} *timeout)`);
// semctl is variadic: its fourth argument is passed with its C type (koffi's "type, value" pairs),
// so it really arrives where semctl's va_arg looks for the union.
const semctl_c = libc.func("int semctl(int semid, int semnum, int cmd, ...)");

/** One semaphore operation: add `op` to semaphore `num` (negative waits until it can subtract). */
export interface SemOp {
  /** The semaphore's index in the set. */
  num: number;
  /**
   * Added to the value: positive releases, negative waits until it can subtract, 0 waits for zero.
   */
  op: number;
  /** IPC_NOWAIT and/or SEM_UNDO. */
  flags?: number;
}

function keyed(key: number): { path: string } {
  return { path: `key ${formatKey(key)}` };
}

function identified(id: number): { path: string } {
  return { path: `id ${id}` };
}

// struct sembuf holds sem_num as an unsigned short and sem_op as a short: koffi would wrap larger
// values at 16 bits, turning an acquire of 40000 into a release, or semaphore 65536 into 0.
function toSembufs(ops: readonly SemOp[]): { sem_num: number; sem_op: number; sem_flg: number }[] {
  if (ops.length === 0) throw new RangeError("semop needs at least one operation");
  return ops.map(({ num, op, flags = 0 }) => ({
    sem_num: checkUint16(num, "num"),
    sem_op: checkInt16(op, "op"),
    sem_flg: checkInt16(flags, "flags"),
  }));
}

/**
 * semget(2): the id of the set for `key` with `nsems` semaphores, created as `flags` say.
 *
 * @see https://man7.org/linux/man-pages/man2/semget.2.html
 */
export function semget(key: number, nsems: number, flags: number): number {
  key = checkKey(key);
  checkInteger(nsems, "nsems", 0, 0xffff);
  checkInt32(flags, "flags");
  return check(semget_c(key, nsems, flags) as number, "semget", keyed(key));
}

/**
 * semop(2): performs every operation in `ops` atomically (all or none). Returns false when
 * IPC_NOWAIT was given and it would have blocked (EAGAIN). Throws EINTR, having done nothing, when
 * a signal handler interrupted its sleep: the kernel never restarts semop (signal(7)).
 *
 * @see https://man7.org/linux/man-pages/man2/semop.2.html
 */
export function semop(id: number, ops: readonly SemOp[]): boolean {
  checkInt32(id, "id");
  const sops = toSembufs(ops);
  if ((semop_c(id, sops, sops.length) as number) === 0) return true;
  const errno = lastErrno();
  if (errno === Errno.EAGAIN) return false;
  throw errnoError("semop", identified(id), errno);
}

/**
 * semtimedop(2): like semop, giving up after `timeoutMs` (undefined: no limit). Returns false on
 * timeout (or EAGAIN with IPC_NOWAIT). Throws EINTR as semop does (`SemaphoreSet` waits again with
 * the time left, or ends the wait: see ipc/interrupts.ts).
 *
 * @see https://man7.org/linux/man-pages/man2/semtimedop.2.html
 */
export function semtimedop(id: number, ops: readonly SemOp[], timeoutMs?: number): boolean {
  checkInt32(id, "id");
  const sops = toSembufs(ops);
  const timeout: TimespecValue | null = timeoutMs === undefined ? null : timespecFromMs(timeoutMs);
  if ((semtimedop_c(id, sops, sops.length, timeout) as number) === 0) return true;
  const errno = lastErrno();
  if (errno === Errno.EAGAIN) return false;
  throw errnoError("semtimedop", identified(id), errno);
}

/**
 * semctl(2) for the commands whose argument is an int value, or that take none.
 *
 * @see https://man7.org/linux/man-pages/man2/semctl.2.html
 */
export function semctl(id: number, num: number, cmd: number, value = 0): number {
  checkInt32(id, "id");
  checkInt32(num, "num");
  checkInt32(cmd, "cmd");
  // SETVAL stores the value in an unsigned short after checking it against SEMVMX; any other
  // number would be truncated to an int first.
  if (cmd === SETVAL) checkInteger(value, "value", 0, SEMVMX);
  else checkInt32(value, "value");
  return check(semctl_c(id, num, cmd, "int", value) as number, "semctl", identified(id));
}

/**
 * semctl(2) for the commands whose argument is a pointer (IPC_STAT/IPC_SET buffers, GETALL/SETALL
 * arrays).
 *
 * @see https://man7.org/linux/man-pages/man2/semctl.2.html
 */
export function semctlBuffer(id: number, num: number, cmd: number, buffer: Uint8Array | Uint16Array): number {
  checkInt32(id, "id");
  checkInt32(num, "num");
  checkInt32(cmd, "cmd");
  return check(semctl_c(id, num, cmd, "void *", buffer) as number, "semctl", identified(id));
}

/**
 * semctl(IPC_STAT) read into a plain object.
 *
 * @see https://man7.org/linux/man-pages/man2/semctl.2.html
 */
export function semStat(id: number): SemidDsSnapshot {
  const buffer = new Uint8Array(SemidDs.size);
  semctlBuffer(id, 0, IPC_STAT, buffer);
  const view = SemidDs.at(buffer);
  return { sem_perm: IpcPerm.read(buffer, SemidDs.offsets.sem_perm), sem_otime: view.sem_otime, sem_ctime: view.sem_ctime, sem_nsems: view.sem_nsems };
}
