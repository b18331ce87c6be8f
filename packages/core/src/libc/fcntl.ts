/** <fcntl.h>: open, fcntl, fallocate and their flags. */
import { checkFd, checkInt32, checkInt64, checkPath, checkUint32 } from "../ffi/checks.ts";
import { constants as fsConstants } from "node:fs";
import { libc, mode_t } from "../ffi/libc.ts";
import { check } from "./errno.ts";

// Taken from Node's table where it has them, so they are right on every architecture.
/** open flag: read only. */
export const O_RDONLY: number = fsConstants.O_RDONLY;
/** open flag: write only. */
export const O_WRONLY: number = fsConstants.O_WRONLY;
/** open flag: read and write. */
export const O_RDWR: number = fsConstants.O_RDWR;
/** open flag: create the file if it does not exist (with the mode given). */
export const O_CREAT: number = fsConstants.O_CREAT;
/** open flag: with O_CREAT, fail with EEXIST if the file exists. */
export const O_EXCL: number = fsConstants.O_EXCL;
/** open flag: truncate a regular file to 0 bytes. */
export const O_TRUNC: number = fsConstants.O_TRUNC;
/** open flag: every write goes to the end of the file. */
export const O_APPEND: number = fsConstants.O_APPEND;
/**
 * open/fcntl flag: calls that would block fail with EAGAIN instead (a FIFO's open returns at once).
 */
export const O_NONBLOCK: number = fsConstants.O_NONBLOCK;
/** open flag: fail with ELOOP if the last component of the path is a symbolic link. */
export const O_NOFOLLOW: number = fsConstants.O_NOFOLLOW;
/** open flag: fail with ENOTDIR unless the path is a directory. */
export const O_DIRECTORY: number = fsConstants.O_DIRECTORY;
/** The same value on every Linux architecture this package supports. */
export const O_CLOEXEC = 0o2000000;

/** fcntl command: duplicate the descriptor to the lowest free one at or above `arg`. */
export const F_DUPFD = 0;
/** fcntl command: read the descriptor flags (FD_CLOEXEC). */
export const F_GETFD = 1;
/** fcntl command: set the descriptor flags (FD_CLOEXEC). */
export const F_SETFD = 2;
/** fcntl command: read the file status flags (O_NONBLOCK, O_APPEND, access mode). */
export const F_GETFL = 3;
/** fcntl command: set the file status flags (O_NONBLOCK, O_APPEND). */
export const F_SETFL = 4;
/** fcntl command: like F_DUPFD, with FD_CLOEXEC set on the copy. */
export const F_DUPFD_CLOEXEC = 1030;
/**
 * fcntl command (Linux): set a pipe's capacity in bytes (rounded up to a power-of-two number of
 * pages).
 */
export const F_SETPIPE_SZ = 1031;
/** fcntl command (Linux): read a pipe's capacity in bytes. */
export const F_GETPIPE_SZ = 1032;
/**
 * fcntl command (Linux 3.17): add the F_SEAL_* bits in `arg` to a memfd's seals. EPERM once
 * F_SEAL_SEAL is set (a memfd made without MFD_ALLOW_SEALING starts with it), EINVAL on a file that
 * cannot be sealed, EBUSY for F_SEAL_WRITE while a shared writable mapping exists.
 */
export const F_ADD_SEALS = 1033;
/** fcntl command (Linux 3.17): the memfd's seals (F_SEAL_* bits); EINVAL on a file that cannot have any. */
export const F_GET_SEALS = 1034;
/** Seal: no more seals can be added. */
export const F_SEAL_SEAL = 0x0001;
/** Seal: the file cannot shrink (ftruncate to less fails with EPERM), so its mapped pages never vanish. */
export const F_SEAL_SHRINK = 0x0002;
/** Seal: the file cannot grow (ftruncate to more, or a write past its end, fails with EPERM). */
export const F_SEAL_GROW = 0x0004;
/** Seal: the contents cannot change (write and shared writable mappings fail). */
export const F_SEAL_WRITE = 0x0008;
/** Seal (Linux 5.1): no new writable mapping or write, existing ones go on working. */
export const F_SEAL_FUTURE_WRITE = 0x0010;
/** Descriptor flag: closed when the process execs a program. */
export const FD_CLOEXEC = 1;

// open(2) is variadic: declared as such, the mode travels as a real variadic argument.
const open_c = libc.func("int open(const char *path, int flags, ...)");
const fcntl_c = libc.func("int fcntl(int fd, int cmd, ...)");

/**
 * open(2). `mode` is used when `flags` has O_CREAT (the umask still applies, as in C).
 *
 * @see https://man7.org/linux/man-pages/man2/open.2.html
 */
export function open(path: string, flags: number, mode = 0o666): number {
  checkPath(path);
  checkInt32(flags, "flags");
  checkUint32(mode, "mode");
  return check(open_c(path, flags, mode_t, mode) as number, "open", { path });
}

/**
 * fcntl(2) with an integer argument or none (F_GETFL, F_SETFL, F_GETPIPE_SZ, F_SETPIPE_SZ,
 * F_SETFD, F_ADD_SEALS, F_GET_SEALS…).
 *
 * @see https://man7.org/linux/man-pages/man2/fcntl.2.html
 */
export function fcntl(fd: number, cmd: number, arg?: number): number {
  checkFd(fd);
  checkInt32(cmd, "cmd");
  if (arg !== undefined) checkInt32(arg, "arg");
  const result = arg === undefined ? fcntl_c(fd, cmd) : fcntl_c(fd, cmd, "int", arg);
  return check(result as number, "fcntl");
}

/**
 * Turns O_NONBLOCK on or off for an open descriptor.
 *
 * @see https://man7.org/linux/man-pages/man2/fcntl.2.html
 */
export function setNonBlocking(fd: number, on: boolean): void {
  const flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

/** fallocate mode: allocate without changing the file's size. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** fallocate mode: deallocate the range, leaving a hole (needs FALLOC_FL_KEEP_SIZE). */
export const FALLOC_FL_PUNCH_HOLE = 0x02;

const fallocate_c = libc.func("int fallocate(int fd, int mode, off_t offset, off_t len)");

/**
 * fallocate(2): with mode 0, allocates disk blocks for `length` bytes at `offset` (growing the file
 * if the range ends past it), so later writes there, mapped writes included, cannot run out of
 * space. Throws ENOSPC when the disk is full, EOPNOTSUPP where the file system cannot do it.
 *
 * @see https://man7.org/linux/man-pages/man2/fallocate.2.html
 */
export function fallocate(fd: number, mode: number, offset: number, length: number, path?: string): void {
  checkFd(fd);
  checkInt32(mode, "mode");
  checkInt64(offset, "offset");
  checkInt64(length, "length");
  check(fallocate_c(fd, mode, offset, length) as number, "fallocate", path === undefined ? undefined : { path });
}
