/**
 * <sys/mman.h>: mmap, munmap, msync, madvise, memfd_create, shm_open, shm_unlink, and their flags.
 *
 * These are the raw calls, on addresses. The object layer's `mmap()` (ipc/mapping.ts, and the one
 * the package root exports) returns a `Mapping` that owns its range, refuses arguments that would
 * let a later access kill the process with SIGBUS, and keeps old views harmless after `unmap()`.
 */
import { checkInt32, checkInt64, checkPath, checkSize, checkUint32 } from "../../ffi/checks.ts";
import { libc, toAddress, type Address } from "../../ffi/libc.ts";
import { check, errnoError } from "../errno.ts";

/** Protection: no access. */
export const PROT_NONE = 0;
/** Protection: the pages may be read. */
export const PROT_READ = 1;
/** Protection: the pages may be written. */
export const PROT_WRITE = 2;
/** Protection: the pages may be executed. */
export const PROT_EXEC = 4;

/** mmap flag: writes reach the file and every process mapping it. */
export const MAP_SHARED = 0x01;
/** mmap flag: a copy-on-write mapping, invisible to other processes. */
export const MAP_PRIVATE = 0x02;
/** mmap flag: place the mapping exactly at `addr`, replacing what was there. */
export const MAP_FIXED = 0x10;
/** mmap flag: memory backed by no file, zero-filled (`fd` -1). */
export const MAP_ANONYMOUS = 0x20;
/** mmap flag: reserve no swap space for the mapping. */
export const MAP_NORESERVE = 0x4000;
/** mmap flag: fault the pages in now rather than on first touch. */
export const MAP_POPULATE = 0x8000;
/** mmap flag: like MAP_FIXED, but fail with EEXIST rather than replace a mapping. */
export const MAP_FIXED_NOREPLACE = 0x100000;

/** What mmap returns on failure: `(void *) -1`. */
export const MAP_FAILED: Address = BigInt.asUintN(64, -1n);

/** msync flag: schedule the write-back and return. */
export const MS_ASYNC = 1;
/** msync flag: invalidate other mappings of the same file. */
export const MS_INVALIDATE = 2;
/** msync flag: write back and wait until it is done. */
export const MS_SYNC = 4;

/** madvise advice: no special treatment. */
export const MADV_NORMAL = 0;
/** madvise advice: random access, read ahead less. */
export const MADV_RANDOM = 1;
/** madvise advice: sequential access, read ahead more and drop pages once read. */
export const MADV_SEQUENTIAL = 2;
/** madvise advice: the pages will be needed soon, read them ahead. */
export const MADV_WILLNEED = 3;
/** madvise advice: the pages are not needed now (private anonymous ones read back as zeros). */
export const MADV_DONTNEED = 4;

/** memfd_create flag: the descriptor is closed on exec. */
export const MFD_CLOEXEC = 1;
/** memfd_create flag: allow seals (fcntl F_ADD_SEALS) on the file. */
export const MFD_ALLOW_SEALING = 2;

const mmap_c = libc.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)");
const munmap_c = libc.func("int munmap(void *addr, size_t length)");
const msync_c = libc.func("int msync(void *addr, size_t length, int flags)");
const madvise_c = libc.func("int madvise(void *addr, size_t length, int advice)");
const memfd_create_c = libc.func("int memfd_create(const char *name, unsigned int flags)");
// shm_open is not variadic, but its mode is a mode_t: declared with that width so it arrives whole.
const shm_open_c = libc.func("int shm_open(const char *name, int oflag, mode_t mode)");
const shm_unlink_c = libc.func("int shm_unlink(const char *name)");

/**
 * mmap(2) as C calls it: returns the address of the new mapping (throws instead of returning
 * MAP_FAILED). `path`, if given, names the file in the error message. Nothing is checked first:
 * prefer the root export `mmap()`, which returns a `Mapping`.
 *
 * @see https://man7.org/linux/man-pages/man2/mmap.2.html
 */
export function mmap(address: Address | null, length: number, protection: number, flags: number, fd: number, offset = 0, path?: string): Address {
  checkSize(length, "length");
  checkInt32(protection, "protection");
  checkInt32(flags, "flags");
  checkInt32(fd, "fd");
  checkInt64(offset, "offset");
  const result = toAddress(mmap_c(address, length, protection, flags, fd, offset));
  if (result === MAP_FAILED) throw errnoError("mmap", path === undefined ? undefined : { path });
  return result;
}

/**
 * munmap(2) on a raw address. Prefer `Mapping.unmap()`, which keeps old views harmless.
 *
 * @see https://man7.org/linux/man-pages/man2/munmap.2.html
 */
export function munmap(address: Address, length: number): void {
  checkSize(length, "length");
  check(munmap_c(address, length) as number, "munmap");
}

/**
 * msync(2): writes dirty pages of a file mapping back to the file.
 *
 * @see https://man7.org/linux/man-pages/man2/msync.2.html
 */
export function msync(address: Address, length: number, flags: number = MS_SYNC): void {
  checkSize(length, "length");
  checkInt32(flags, "flags");
  check(msync_c(address, length, flags) as number, "msync");
}

/**
 * madvise(2): tells the kernel how the range will be used.
 *
 * @see https://man7.org/linux/man-pages/man2/madvise.2.html
 */
export function madvise(address: Address, length: number, advice: number): void {
  checkSize(length, "length");
  checkInt32(advice, "advice");
  check(madvise_c(address, length, advice) as number, "madvise");
}

/**
 * memfd_create(2): an anonymous file in memory, shareable by descriptor (e.g. with a child).
 *
 * @see https://man7.org/linux/man-pages/man2/memfd_create.2.html
 */
export function memfd_create(name: string, flags = MFD_CLOEXEC): number {
  checkPath(name, "name");
  checkUint32(flags, "flags");
  return check(memfd_create_c(name, flags) as number, "memfd_create");
}

/**
 * shm_open(3): a POSIX shared memory object under /dev/shm. `name` starts with '/'.
 *
 * @see https://man7.org/linux/man-pages/man3/shm_open.3.html
 */
export function shm_open(name: string, oflag: number, mode = 0o600): number {
  checkPath(name, "name");
  checkInt32(oflag, "oflag");
  checkUint32(mode, "mode");
  return check(shm_open_c(name, oflag, mode) as number, "shm_open", { path: name });
}

/**
 * shm_unlink(3): removes the name of a POSIX shared memory object; mappings of it stay valid.
 *
 * @see https://man7.org/linux/man-pages/man3/shm_unlink.3.html
 */
export function shm_unlink(name: string): void {
  checkPath(name, "name");
  check(shm_unlink_c(name) as number, "shm_unlink", { path: name });
}
