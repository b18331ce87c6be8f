/**
 * <sys/mman.h>: mmap, munmap, msync, madvise, memfd_create, shm_open, shm_unlink, and their flags.
 *
 * These are the raw calls, on addresses. The object layer's `mmap()` (ipc/mapping.ts, and the one
 * the package root exports) returns a `Mapping` that owns its range, refuses arguments that would
 * let a later access kill the process with SIGBUS, and keeps old views harmless after `unmap()`.
 */
import { libc, toAddress, type Address } from "../../ffi/libc.ts";
import { check, errnoError } from "../errno.ts";

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_FIXED_NOREPLACE = 0x100000;

/** What mmap returns on failure: `(void *) -1`. */
export const MAP_FAILED: Address = BigInt.asUintN(64, -1n);

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;

export const MFD_CLOEXEC = 1;
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
 */
export function mmap(address: Address | null, length: number, protection: number, flags: number, fd: number, offset = 0, path?: string): Address {
  const result = toAddress(mmap_c(address, length, protection, flags, fd, offset));
  if (result === MAP_FAILED) throw errnoError("mmap", path === undefined ? undefined : { path });
  return result;
}

/** munmap(2) on a raw address. Prefer `Mapping.unmap()`, which keeps old views harmless. */
export function munmap(address: Address, length: number): void {
  check(munmap_c(address, length) as number, "munmap");
}

/** msync(2): writes dirty pages of a file mapping back to the file. */
export function msync(address: Address, length: number, flags: number = MS_SYNC): void {
  check(msync_c(address, length, flags) as number, "msync");
}

/** madvise(2): tells the kernel how the range will be used. */
export function madvise(address: Address, length: number, advice: number): void {
  check(madvise_c(address, length, advice) as number, "madvise");
}

/** memfd_create(2): an anonymous file in memory, shareable by descriptor (e.g. with a child). */
export function memfd_create(name: string, flags = MFD_CLOEXEC): number {
  return check(memfd_create_c(name, flags) as number, "memfd_create");
}

/** shm_open(3): a POSIX shared memory object under /dev/shm. `name` starts with '/'. */
export function shm_open(name: string, oflag: number, mode = 0o600): number {
  return check(shm_open_c(name, oflag, mode) as number, "shm_open", { path: name });
}

export function shm_unlink(name: string): void {
  check(shm_unlink_c(name) as number, "shm_unlink", { path: name });
}
