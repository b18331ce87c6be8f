/**
 * <sys/mman.h>: mmap, munmap, msync, madvise, memfd_create, shm_open, shm_unlink.
 *
 * `mmap()` returns a `Mapping` that owns its address range: `bytes` reads and writes the memory in
 * place, `unmap()` is idempotent, and `using` releases it. Arguments the kernel would reject, or that
 * would let a later access kill the process with SIGBUS, are refused first with a clear error.
 */
import { libc, type Address } from "../libc.ts";
import { check, errnoError } from "../errno.ts";
import { PAGE_SIZE, close, ftruncate, pageRoundUp } from "../unistd.ts";
import { fstat, S_ISREG } from "./stat.ts";
import { open, O_RDONLY, O_RDWR, O_CREAT } from "../fcntl.ts";
import {
  MappedMemory,
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  mmap_c,
  munmap_c,
  toAddress,
} from "../memory.ts";

export {
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  PROT_EXEC,
  MAP_SHARED,
  MAP_PRIVATE,
  MAP_FIXED,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_FIXED_NOREPLACE,
  MAP_FAILED,
  ReleasedMemoryError,
} from "../memory.ts";

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

const msync_c = libc.func("int msync(void *addr, size_t length, int flags)");
const madvise_c = libc.func("int madvise(void *addr, size_t length, int advice)");
const memfd_create_c = libc.func("int memfd_create(const char *name, unsigned int flags)");
// shm_open is not variadic, but its mode is a mode_t: declared with that width so it arrives whole.
const shm_open_c = libc.func("int shm_open(const char *name, int oflag, mode_t mode)");
const shm_unlink_c = libc.func("int shm_unlink(const char *name)");

/** Thrown before calling mmap when the call would fail or set up a later crash. */
export class MapArgumentError extends RangeError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface MmapOptions {
  /** A name for messages (usually the file's path). */
  path?: string;
}

/** A region mapped with mmap(2). */
export class Mapping extends MappedMemory {
  protected readonly kind = "mapping";
  readonly protection: number;
  readonly flags: number;

  /** @internal use mmap() */
  constructor(address: Address, length: number, protection: number, flags: number) {
    super(address, length);
    this.protection = protection;
    this.flags = flags;
  }

  get writable(): boolean {
    return (this.protection & PROT_WRITE) !== 0;
  }

  /** msync(2): writes dirty pages of a file mapping back to the file. */
  sync(flags = MS_SYNC): void {
    this.assertLive();
    check(msync_c(this.address, this.length, flags) as number, "msync");
  }

  /** madvise(2) over the whole mapping. */
  advise(advice: number): void {
    this.assertLive();
    check(madvise_c(this.address, pageRoundUp(this.length), advice) as number, "madvise");
  }

  /** munmap(2), made safe for views still held (see memory.ts). Idempotent. */
  unmap(): void {
    this.releaseRange(() => check(munmap_c(this.address, pageRoundUp(this.length)) as number, "munmap"));
  }

  [Symbol.dispose](): void {
    this.unmap();
  }
}

/**
 * mmap(2) with the address left to the kernel (`addr` NULL, as every IPC use wants).
 * Refuses, before the call: a length that is not a positive integer, an offset that is not a multiple
 * of the page size, and, for a regular file, a range that reaches past the last page of the file.
 */
export function mmap(length: number, protection: number, flags: number, fd: number, offset = 0, options: MmapOptions = {}): Mapping {
  const where = options.path === undefined ? "" : ` of '${options.path}'`;
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw new MapArgumentError("ERR_MAP_LENGTH", `mmap${where}: length must be a positive integer (got ${length}); a mapping of 0 bytes is EINVAL`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % PAGE_SIZE !== 0) {
    throw new MapArgumentError("ERR_MAP_OFFSET", `mmap${where}: offset ${offset} is not a multiple of the page size (${PAGE_SIZE})`);
  }
  if ((flags & MAP_ANONYMOUS) === 0) {
    const info = fstat(fd);
    // Pages wholly past the end of a file raise SIGBUS when touched: refuse to map them.
    if (S_ISREG(info.mode) && offset + length > pageRoundUp(info.size)) {
      throw new MapArgumentError(
        "ERR_MAP_PAST_EOF",
        `mmap${where}: ${length} bytes at offset ${offset} reach past the end of the file (${info.size} bytes); touching them would raise SIGBUS`,
      );
    }
  }
  const address = toAddress(mmap_c(null, length, protection, flags, fd, offset));
  if (address === MAP_FAILED) throw errnoError("mmap", options.path === undefined ? undefined : { path: options.path });
  return new Mapping(address, length, protection, flags);
}

/** munmap(2) on a raw address. Prefer `Mapping.unmap()`, which keeps old views harmless. */
export function munmap(address: Address, length: number): void {
  check(munmap_c(address, length) as number, "munmap");
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

export interface MapFileOptions {
  /** "r" maps PROT_READ from an O_RDONLY descriptor; "rw" maps read-write from O_RDWR (default). */
  access?: "r" | "rw";
  /** Creates the file if missing (mode 0666 less the umask). */
  create?: boolean;
  /** Grows the file to at least this many bytes first (never shrinks it). Needs "rw". */
  minimumSize?: number;
  offset?: number;
}

/**
 * Opens `path`, maps `length` bytes shared, and closes the descriptor (the mapping stays valid: the
 * kernel keeps its own reference to the file).
 */
export function mapFile(path: string, length: number, options: MapFileOptions = {}): Mapping {
  const access = options.access ?? "rw";
  const fd = open(path, (access === "r" ? O_RDONLY : O_RDWR) | (options.create ? O_CREAT : 0), 0o666);
  try {
    if (options.minimumSize !== undefined && fstat(fd).size < options.minimumSize) ftruncate(fd, options.minimumSize);
    const protection = access === "r" ? PROT_READ : PROT_READ | PROT_WRITE;
    return mmap(length, protection, MAP_SHARED, fd, options.offset ?? 0, { path });
  } finally {
    close(fd);
  }
}
