/**
 * <unistd.h>: descriptors, reads and writes, pipes, the page size. (`readAsync`, which waits on
 * epoll before reading, is in ipc/pipe_io.ts.)
 */
import { checkFd, checkInt32, checkInt64, checkPath, checkSize } from "../ffi/checks.ts";
import { libc, type ByteBuffer } from "../ffi/libc.ts";
import { check, SystemError } from "./errno.ts";
import { O_CLOEXEC } from "./fcntl.ts";

/** lseek whence: from the start of the file. */
export const SEEK_SET = 0;
/** lseek whence: from the current offset. */
export const SEEK_CUR = 1;
/** lseek whence: from the end of the file. */
export const SEEK_END = 2;
/** lseek whence: the next offset at or after `offset` that holds data (ENXIO past the last data). */
export const SEEK_DATA = 3;
/** lseek whence: the next offset at or after `offset` in a hole (the end of the file counts as one). */
export const SEEK_HOLE = 4;
/** The descriptor of standard input. */
export const STDIN_FILENO = 0;
/** The descriptor of standard output. */
export const STDOUT_FILENO = 1;
/** The descriptor of standard error. */
export const STDERR_FILENO = 2;
/**
 * Writes to a pipe of at most this many bytes are atomic: never split or interleaved with other
 * writers'.
 */
export const PIPE_BUF = 4096;
const _SC_PAGESIZE = 30;

const close_c = libc.func("int close(int fd)");
const read_c = libc.func("ssize_t read(int fd, _Out_ void *buf, size_t count)");
const write_c = libc.func("ssize_t write(int fd, const void *buf, size_t count)");
const lseek_c = libc.func("off_t lseek(int fd, off_t offset, int whence)");
const ftruncate_c = libc.func("int ftruncate(int fd, off_t length)");
const unlink_c = libc.func("int unlink(const char *path)");
const pipe_c = libc.func("int pipe(_Out_ int *fds)");
const pipe2_c = libc.func("int pipe2(_Out_ int *fds, int flags)");
const getpid_c = libc.func("pid_t getpid(void)");
const getppid_c = libc.func("pid_t getppid(void)");
const sysconf_c = libc.func("long sysconf(int name)");

/**
 * The size of a memory page: mmap offsets are multiples of it and lengths are rounded up to it.
 *
 * @see https://man7.org/linux/man-pages/man3/sysconf.3.html
 */
export const PAGE_SIZE: number = sysconf_c(_SC_PAGESIZE) as number;

/**
 * `length` rounded up to a whole number of pages: what a mapping of that length really occupies.
 */
export function pageRoundUp(length: number): number {
  return Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * close(2): releases the descriptor (the file stays open while other descriptors refer to it).
 *
 * @see https://man7.org/linux/man-pages/man2/close.2.html
 */
export function close(fd: number): void {
  checkFd(fd);
  check(close_c(fd) as number, "close");
}

function region(buffer: ByteBuffer, offset: number, length: number | undefined): ByteBuffer {
  checkSize(offset, "offset");
  if (length !== undefined) checkSize(length, "length");
  const end = length === undefined ? buffer.byteLength : offset + length;
  if (offset < 0 || end > buffer.byteLength || end < offset) {
    throw new RangeError(`read/write range ${offset}..${end} is outside a buffer of ${buffer.byteLength} bytes`);
  }
  return buffer.subarray(offset, end);
}

/**
 * read(2) into `buffer` (from `offset`, at most `length` bytes). Returns the byte count; 0 is end
 * of file.
 *
 * @see https://man7.org/linux/man-pages/man2/read.2.html
 */
export function read(fd: number, buffer: ByteBuffer, offset = 0, length?: number): number {
  checkFd(fd);
  const target = region(buffer, offset, length);
  return toNumber(check(read_c(fd, target, target.byteLength) as number | bigint, "read"));
}

/**
 * write(2) of `data` (a string is written as UTF-8). Returns the byte count written, which may be
 * short.
 *
 * @see https://man7.org/linux/man-pages/man2/write.2.html
 */
export function write(fd: number, data: ByteBuffer | string, offset = 0, length?: number): number {
  checkFd(fd);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : region(data, offset, length);
  return toNumber(check(write_c(fd, bytes, bytes.byteLength) as number | bigint, "write"));
}

/**
 * Writes every byte, looping over short writes (and EINTR).
 *
 * @see https://man7.org/linux/man-pages/man2/write.2.html
 */
export function writeAll(fd: number, data: ByteBuffer | string): void {
  let bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  while (bytes.byteLength > 0) {
    let written: number;
    try {
      written = write(fd, bytes);
    } catch (error) {
      if (error instanceof SystemError && error.code === "EINTR") continue;
      throw error;
    }
    bytes = bytes.subarray(written);
  }
}

/**
 * lseek(2). Offsets are 64-bit: numbers stay exact up to 2^53 bytes.
 *
 * @see https://man7.org/linux/man-pages/man2/lseek.2.html
 */
export function lseek(fd: number, offset: number, whence: number): number {
  checkFd(fd);
  checkInt64(offset, "offset");
  checkInt32(whence, "whence");
  return toNumber(check(lseek_c(fd, offset, whence) as number | bigint, "lseek"));
}

/**
 * ftruncate(2): sets the file's size, cutting it or growing it with zeros (a hole).
 *
 * @see https://man7.org/linux/man-pages/man2/ftruncate.2.html
 */
export function ftruncate(fd: number, length: number): void {
  checkFd(fd);
  checkInt64(length, "length");
  check(ftruncate_c(fd, length) as number, "ftruncate");
}

/**
 * unlink(2): removes a name from the file system; the file lives on while it is open.
 *
 * @see https://man7.org/linux/man-pages/man2/unlink.2.html
 */
export function unlink(path: string): void {
  checkPath(path);
  check(unlink_c(path) as number, "unlink", { path });
}

/**
 * pipe(2): returns [readEnd, writeEnd]. Both are inherited by every program this process execs.
 *
 * @see https://man7.org/linux/man-pages/man2/pipe.2.html
 */
export function pipe(): [number, number] {
  const fds = [0, 0];
  check(pipe_c(fds) as number, "pipe");
  return [fds[0]!, fds[1]!];
}

/**
 * pipe2(2) with flags such as O_CLOEXEC and O_NONBLOCK. Returns [readEnd, writeEnd].
 *
 * @see https://man7.org/linux/man-pages/man2/pipe.2.html
 */
export function pipe2(flags: number = O_CLOEXEC): [number, number] {
  const fds = [0, 0];
  checkInt32(flags, "flags");
  check(pipe2_c(fds, flags) as number, "pipe2");
  return [fds[0]!, fds[1]!];
}

/**
 * getpid(2): this process's id.
 *
 * @see https://man7.org/linux/man-pages/man2/getpid.2.html
 */
export function getpid(): number {
  return getpid_c() as number;
}

/**
 * getppid(2): the parent process's id.
 *
 * @see https://man7.org/linux/man-pages/man2/getpid.2.html
 */
export function getppid(): number {
  return getppid_c() as number;
}

function toNumber(value: number | bigint): number {
  return typeof value === "bigint" ? Number(value) : value;
}
