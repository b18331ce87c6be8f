/**
 * Mappings as objects: `mmap()` returns a `Mapping` that owns its address range: `bytes` reads and
 * writes the memory in place, `unmap()` is idempotent, and `using` releases it. Arguments the kernel
 * would reject, or that would let a later access kill the process with SIGBUS, are refused first
 * with a clear error. `mapFile()` opens, maps and closes in one call. (The raw calls on addresses
 * are in libc/sys/mman.ts.)
 */
import type { Address } from "../ffi/libc.ts";
import { PAGE_SIZE, close, ftruncate, pageRoundUp } from "../libc/unistd.ts";
import { fstat, S_ISREG } from "../libc/sys/stat.ts";
import { open, O_RDONLY, O_RDWR, O_CREAT } from "../libc/fcntl.ts";
import { mmap as mmapAddress, munmap, msync, madvise, MAP_ANONYMOUS, MAP_SHARED, MS_SYNC, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";
import { MappedMemory } from "./memory.ts";

/** Thrown before calling mmap when the call would fail or set up a later crash. */
export class MapArgumentError extends RangeError {
  /** Which check failed: ERR_MAP_LENGTH, ERR_MAP_OFFSET or ERR_MAP_PAST_EOF. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Options of `mmap`. */
export interface MmapOptions {
  /** A name for messages (usually the file's path). */
  path?: string;
}

/** A region mapped with mmap(2). */
export class Mapping extends MappedMemory {
  /** Names the object in ReleasedMemoryError messages. */
  protected readonly kind = "mapping";
  /** The PROT_* bits it was mapped with. */
  readonly protection: number;
  /** The MAP_* flags it was mapped with. */
  readonly flags: number;

  /** @internal use mmap() */
  constructor(address: Address, length: number, protection: number, flags: number) {
    super(address, length);
    this.protection = protection;
    this.flags = flags;
  }

  /** Whether it was mapped with PROT_WRITE. */
  get writable(): boolean {
    return (this.protection & PROT_WRITE) !== 0;
  }

  /** Whether it may be read: mapped with PROT_READ (or PROT_WRITE, which implies it on Linux). */
  get readable(): boolean {
    return (this.protection & (PROT_READ | PROT_WRITE)) !== 0;
  }

  /** msync(2): writes dirty pages of a file mapping back to the file. */
  sync(flags = MS_SYNC): void {
    this.assertLive();
    msync(this.address, this.length, flags);
  }

  /** madvise(2) over the whole mapping. */
  advise(advice: number): void {
    this.assertLive();
    madvise(this.address, pageRoundUp(this.length), advice);
  }

  /** munmap(2), made safe for views still held (see memory.ts). Idempotent. */
  unmap(): void {
    this.releaseRange(() => munmap(this.address, pageRoundUp(this.length)));
  }

  /** Unmaps, for `using`. */
  [Symbol.dispose](): void {
    this.unmap();
  }
}

/**
 * mmap(2) with the address left to the kernel (`addr` NULL, as every IPC use wants), as a `Mapping`.
 * Refuses, before the call: a length that is not a positive integer, an offset that is not a multiple
 * of the page size, and, for a regular file, a range that reaches past the last page of the file.
 *
 * @see https://man7.org/linux/man-pages/man2/mmap.2.html
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
      throw new MapArgumentError("ERR_MAP_PAST_EOF", `mmap${where}: ${length} bytes at offset ${offset} reach past the end of the file (${info.size} bytes); touching them would raise SIGBUS`);
    }
  }
  const address = mmapAddress(null, length, protection, flags, fd, offset, options.path);
  return new Mapping(address, length, protection, flags);
}

/** Options of `mapFile`. */
export interface MapFileOptions {
  /** "r" maps PROT_READ from an O_RDONLY descriptor; "rw" maps read-write from O_RDWR (default). */
  access?: "r" | "rw";
  /** Creates the file if missing (mode 0666 less the umask). */
  create?: boolean;
  /** Grows the file to at least this many bytes first (never shrinks it). Needs "rw". */
  minimumSize?: number;
  /** Where in the file the mapping starts: a multiple of PAGE_SIZE (default 0). */
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
