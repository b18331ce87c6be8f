/**
 * <semaphore.h>: POSIX semaphores, the raw calls on a `sem_t *`. The objects over them,
 * `NamedSemaphore` and `UnnamedSemaphore`, are in ipc/posix_semaphore.ts. Named semaphores
 * (`sem_open`, `sem_close`, `sem_unlink`) live in /dev/shm as `sem.<name>` until unlinked; unnamed ones (`sem_init` with pshared = 1) are a `sem_t`
 * placed inside shared memory that several processes map (a SysV segment, memfd, POSIX shm or file).
 *
 * glibc implements both on a futex inside the sem_t: post and an uncontended wait stay in user
 * space. Unlike SysV semaphores they have no undo: a process that dies after a wait does not give
 * the count back.
 */
import { checkInt32, checkInteger, checkPath, checkUint32 } from "../ffi/checks.ts";
import { koffi, libc, lastErrno, toAddress, type Address } from "../ffi/libc.ts";
import { Errno, check, errnoError } from "./errno.ts";
import { O_CREAT } from "./fcntl.ts";
import { Timespec, type TimespecValue } from "./time.ts";

/** The size of a `sem_t` with glibc on 64-bit Linux (x86_64 and arm64); it must be 8-byte aligned. */
export const SEM_T_SIZE = 32;
/** The alignment a `sem_t` needs, in bytes. */
export const SEM_T_ALIGNMENT = 8;
/** The largest value a POSIX semaphore holds. */
export const SEM_VALUE_MAX = 0x7fffffff;

/** `sem_t` as glibc declares it: an opaque union of 32 bytes aligned like a long. */
export const sem_t = koffi.union("sem_t", { __size: koffi.array("char", SEM_T_SIZE), __align: "long" });

// sem_open is variadic: mode (a mode_t) and value (an unsigned int) follow only with O_CREAT, passed
// with their C types so they arrive whole.
const sem_open_c = libc.func("void *sem_open(const char *name, int oflag, ...)");
const sem_close_c = libc.func("int sem_close(void *sem)");
const sem_unlink_c = libc.func("int sem_unlink(const char *name)");
const sem_init_c = libc.func("int sem_init(void *sem, int pshared, unsigned int value)");
const sem_destroy_c = libc.func("int sem_destroy(void *sem)");
const sem_post_c = libc.func("int sem_post(void *sem)");
const sem_wait_c = libc.func("int sem_wait(void *sem)");
const sem_trywait_c = libc.func("int sem_trywait(void *sem)");
const sem_clockwait_c = libc.func(`int sem_clockwait(void *sem, int clockid, const ${Timespec.name} *abstime)`);
const sem_getvalue_c = libc.func("int sem_getvalue(void *sem, _Out_ int *sval)");

/** What sem_open returns on failure: SEM_FAILED, `(sem_t *) 0` in glibc. */
export const SEM_FAILED: Address = 0n;

function named(path: string | undefined): { path: string } | undefined {
  return path === undefined ? undefined : { path };
}

/**
 * sem_open(3): opens the named semaphore `name` (like '/demo'), creating it with `mode` and `value`
 * when `oflag` has O_CREAT. Returns its `sem_t *` (throws instead of returning SEM_FAILED).
 *
 * @see https://man7.org/linux/man-pages/man3/sem_open.3.html
 */
export function sem_open(name: string, oflag: number, mode = 0o600, value = 0): Address {
  checkPath(name, "name");
  checkInt32(oflag, "oflag");
  checkUint32(mode, "mode");
  checkInteger(value, "value", 0, SEM_VALUE_MAX);
  // mode and value are variadic: passed with their C types only with O_CREAT, so they arrive whole.
  const pointer = (oflag & O_CREAT) !== 0 ? sem_open_c(name, oflag, "uint32_t", mode, "uint32_t", value) : sem_open_c(name, oflag);
  const address = toAddress(pointer);
  if (address === SEM_FAILED) throw errnoError("sem_open", { path: name });
  return address;
}

/**
 * sem_close(3). `path` names the semaphore in the error message.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_close.3.html
 */
export function sem_close(sem: Address, path?: string): void {
  check(sem_close_c(sem) as number, "sem_close", named(path));
}

/**
 * sem_unlink(3): removes the name; processes that have it open keep using it.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_unlink.3.html
 */
export function sem_unlink(name: string): void {
  checkPath(name, "name");
  check(sem_unlink_c(name) as number, "sem_unlink", { path: name });
}

/**
 * sem_init(3): initialises the `sem_t` at `sem` with `value`; `pshared` 1 shares it between
 * processes.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_init.3.html
 */
export function sem_init(sem: Address, pshared: number, value: number): void {
  checkInt32(pshared, "pshared");
  checkInteger(value, "value", 0, SEM_VALUE_MAX);
  check(sem_init_c(sem, pshared, value) as number, "sem_init");
}

/**
 * sem_destroy(3). No process may still be waiting on it.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_destroy.3.html
 */
export function sem_destroy(sem: Address): void {
  check(sem_destroy_c(sem) as number, "sem_destroy");
}

/**
 * sem_post(3): adds one, waking one waiter.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_post.3.html
 */
export function sem_post(sem: Address, path?: string): void {
  check(sem_post_c(sem) as number, "sem_post", named(path));
}

/**
 * sem_wait(3): subtracts one, waiting while the value is 0. Throws EINTR when a signal handler
 * installed without SA_RESTART ran; after Node's handlers (libuv's, with SA_RESTART) the kernel
 * goes on sleeping, so `wait()` of ipc/posix_semaphore.ts sleeps in sem_clockwait instead.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_wait.3.html
 */
export function sem_wait(sem: Address, path?: string): void {
  check(sem_wait_c(sem) as number, "sem_wait", named(path));
}

/**
 * sem_trywait(3): true if the value was above 0 (and is now one less), false instead of EAGAIN.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_wait.3.html
 */
export function sem_trywait(sem: Address, path?: string): boolean {
  if ((sem_trywait_c(sem) as number) === 0) return true;
  const errno = lastErrno();
  if (errno === Errno.EAGAIN) return false;
  throw errnoError("sem_trywait", named(path), errno);
}

/**
 * sem_clockwait(3): like sem_wait until the absolute time `abstime` on `clock`; false instead of
 * ETIMEDOUT. Throws EINTR when a signal handler ran.
 *
 * @see https://man7.org/linux/man-pages/man3/sem_wait.3.html
 */
export function sem_clockwait(sem: Address, clock: number, abstime: TimespecValue, path?: string): boolean {
  if ((sem_clockwait_c(sem, clock, abstime) as number) === 0) return true;
  const errno = lastErrno();
  if (errno === Errno.ETIMEDOUT) return false;
  throw errnoError("sem_clockwait", named(path), errno);
}

/**
 * sem_getvalue(3): the current value (0 while processes wait: glibc never reports waiters as
 * negative).
 *
 * @see https://man7.org/linux/man-pages/man3/sem_getvalue.3.html
 */
export function sem_getvalue(sem: Address, path?: string): number {
  const value = [0];
  check(sem_getvalue_c(sem, value) as number, "sem_getvalue", named(path));
  return value[0]!;
}
