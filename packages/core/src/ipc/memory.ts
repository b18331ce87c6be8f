/**
 * Memory that a process maps (mmap) or attaches (shmat): the base of `Mapping` and `Attachment`.
 *
 * The bytes are exposed through one koffi view (an ArrayBuffer over the mapped addresses), made on
 * first use and then kept: making views costs time in proportion to their size. Releasing the memory must never leave that
 * view pointing at unmapped addresses, where any later access kills the process with SIGSEGV, and a
 * JS view cannot be revoked (koffi's views are external buffers that neither `transfer` nor
 * `structuredClone` detach). So release does not munmap: it atomically replaces the range with a
 * private anonymous mapping (`mmap` with MAP_FIXED), which drops the shared mapping or the SysV
 * attachment exactly as munmap/shmdt would, while old views read zeros and write into private pages
 * that nobody else sees. That placeholder is unmapped once the view is garbage-collected.
 */
import { koffi, libc, type Address } from "../ffi/libc.ts";
import type { StructLayout, StructView, FieldSpec } from "../ffi/struct.ts";
import { pageRoundUp } from "../libc/unistd.ts";
import { releaseWordWaits } from "./word_waiter.ts";
import { setLiveBytesAccess } from "./memory_access.ts";
import { mmap, munmap, MAP_ANONYMOUS, MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";

// memmove rather than memcpy: the two ranges may be the same mapping.
const memmove_c = libc.func("void *memmove(void *dest, const void *src, size_t n)");

// When a view's ArrayBuffer is garbage-collected, nothing can reach its addresses any more: unmap
// them, whether they still hold the mapping (dropped without unmap) or the placeholder.
const unreachable = new FinalizationRegistry<{ address: Address; span: number }>(({ address, span }) => {
  try {
    munmap(address, span);
  } catch {
    // Nothing to report to: the finalizer runs outside any caller.
  }
});

function installPlaceholder(address: Address, span: number): void {
  mmap(address, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

/** Thrown when an unmapped or detached memory object is used. */
export class ReleasedMemoryError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_MEMORY_RELEASED";
  constructor(what: string) {
    super(`this ${what} has been released; map or attach it again`);
  }
}

/**
 * Thrown instead of an access the memory's protection forbids (writing PROT_READ or SHM_RDONLY
 * memory, reading PROT_NONE memory), which would kill the process with SIGSEGV.
 */
export class MemoryAccessError extends TypeError {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_MEMORY_ACCESS";
  constructor(what: string, access: "read" | "write", remedy = "") {
    super(`cannot ${access} this ${what}: it is mapped without ${access} access (the access would fault with SIGSEGV)${remedy}`);
  }
}

/** What `Mapping` and `Attachment` share: an address range, its bytes, structs in place, safe release. */
export abstract class MappedMemory implements Disposable {
  /** The address in this process where the memory starts. */
  readonly address: Address;
  /** The length in bytes the caller asked for (the kernel maps whole pages). */
  readonly length: number;
  #bytes: Uint8Array | null = null;
  #released = false;
  /** What the memory is called in ReleasedMemoryError messages: "mapping" or "attachment". */
  protected abstract readonly kind: string;

  protected constructor(address: Address, length: number) {
    this.address = address;
    this.length = length;
  }

  /**
   * The mapped bytes, read and written in place. The view is made on first use, then kept: a koffi
   * view costs time in proportion to its size and weighs on V8's garbage collector, so memory only
   * copied with `copyFrom` never needs one.
   *
   * Only writable memory has one. A JavaScript view cannot be made read-only, and a write into
   * PROT_READ or SHM_RDONLY memory through it would kill the process with SIGSEGV, so on such memory
   * this throws a MemoryAccessError: read it with `read()` (a copy) or live through `struct()` views,
   * whose setters refuse. On memory that cannot be read (PROT_NONE) it throws too.
   */
  get bytes(): Uint8Array {
    this.assertLive();
    this.assertAccess("read", this.readable);
    // Refused before the view is made: memory that never had one is simply unmapped on release.
    if (!this.writable) throw new MemoryAccessError(this.kind, "write", "; `bytes` is offered on writable memory only: use read() for a copy, or struct() views");
    return this.#liveBytes();
  }

  /**
   * A copy of `length` bytes at `offset` (by default, from `offset` to the end): what the memory
   * holds now, on any readable memory, read-only included. Bounds are checked first.
   */
  read(offset = 0, length = this.length - offset): Uint8Array {
    const bytes = this.#readableBytes();
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new RangeError(`read: ${length} bytes at offset ${offset} do not fit in ${this.length} bytes`);
    }
    return bytes.slice(offset, offset + length);
  }

  static {
    setLiveBytesAccess((memory) => (memory instanceof MappedMemory ? memory.#readableBytes() : memory.bytes));
  }

  /** The live view, once the memory is known to be mapped and readable (a read of released or PROT_NONE memory would fault). */
  #readableBytes(): Uint8Array {
    this.assertLive();
    this.assertAccess("read", this.readable);
    return this.#liveBytes();
  }

  #liveBytes(): Uint8Array {
    if (this.#bytes === null) {
      const buffer = this.length === 0 ? new ArrayBuffer(0) : koffi.view(this.address, this.length);
      if (this.length > 0) unreachable.register(buffer, { address: this.address, span: pageRoundUp(this.length) });
      this.#bytes = new Uint8Array(buffer);
    }
    return this.#bytes;
  }

  /** Whether the memory has been unmapped or detached. */
  get released(): boolean {
    return this.#released;
  }

  /** Throws ReleasedMemoryError once the memory has been released. */
  protected assertLive(): void {
    if (this.#released) throw new ReleasedMemoryError(this.kind);
  }

  /** Whether the memory may be written (mapped with PROT_WRITE, attached without SHM_RDONLY). */
  abstract readonly writable: boolean;

  /** Whether the memory may be read (anything but PROT_NONE). */
  abstract readonly readable: boolean;

  // An access the protection forbids is a SIGSEGV, which kills the whole process: refuse it first.
  private assertAccess(access: "read" | "write", allowed: boolean): void {
    if (!allowed) throw new MemoryAccessError(this.kind, access);
  }

  /**
   * A live view of a C struct stored at `offset`. On memory that is not writable, assigning a field
   * throws a TypeError instead of faulting.
   */
  struct<S extends Record<string, FieldSpec>>(layout: StructLayout<S>, offset = 0): StructView<S> {
    return layout.at(this.#readableBytes(), offset, { readOnly: !this.writable });
  }

  /**
   * memcpy(3) of `length` bytes from `source` (at `sourceOffset`) to this memory (at `offset`), in
   * one call into the C library and without making a view of either side. Bounds are checked first.
   */
  copyFrom(source: MappedMemory, options: { offset?: number; sourceOffset?: number; length?: number } = {}): void {
    const { offset = 0, sourceOffset = 0 } = options;
    const length = options.length ?? source.length - sourceOffset;
    this.assertLive();
    source.assertLive();
    this.assertAccess("write", this.writable);
    source.assertAccess("read", source.readable);
    for (const [what, at, size] of [
      ["target", offset, this.length],
      ["source", sourceOffset, source.length],
    ] as const) {
      if (!Number.isSafeInteger(at) || !Number.isSafeInteger(length) || at < 0 || length < 0 || at + length > size) {
        throw new RangeError(`copyFrom: ${length} bytes at ${what} offset ${at} do not fit in ${size} bytes`);
      }
    }
    if (length > 0) memmove_c(this.address + BigInt(offset), source.address + BigInt(sourceOffset), length);
  }

  /**
   * Releases the memory. Async waits on its words end first (rejected with ReleasedMemoryError).
   * With no view ever made, `releaseUnviewed` unmaps or detaches at once; else the range is replaced
   * by a placeholder (see the module comment). Idempotent.
   */
  protected releaseRange(releaseUnviewed: () => void): void {
    if (this.#released) return;
    releaseWordWaits(this.address, pageRoundUp(this.length), () => new ReleasedMemoryError(this.kind));
    if (this.#bytes === null) releaseUnviewed();
    else installPlaceholder(this.address, pageRoundUp(this.length));
    this.#released = true;
    this.#bytes = null;
  }

  /** Releases the memory (unmap or detach), for `using`. */
  abstract [Symbol.dispose](): void;
}

/** What a FutexWord, FutexMutex, UnnamedSemaphore or Ring lives in: a mapping or attachment (or anything with both fields). */
export interface SharedMemory {
  /** Where `bytes` starts in this process. */
  readonly address: Address;
  /** The memory's bytes, read and written in place. */
  readonly bytes: Uint8Array;
}
