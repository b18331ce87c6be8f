/**
 * System V shared memory as objects: `SharedMemorySegment` (the kernel object: create-exclusive,
 * open, stat, remove) and `Attachment` (this process's view of it: `bytes`, structs in place,
 * idempotent `detach()`, `using`). The calls underneath are in libc/sys/shm.ts.
 *
 * A segment outlives every process until it is removed (IPC_RMID) or the machine reboots; detaching
 * never removes it.
 */
import type { Address } from "../ffi/libc.ts";
import { SystemError } from "../libc/errno.ts";
import { IPC_CREAT, IPC_EXCL, IPC_RMID } from "../libc/sys/ipc.ts";
import { SHM_RDONLY, shmat, shmctl, shmdt, shmget, shmStat, type ShmidDsSnapshot } from "../libc/sys/shm.ts";
import { MappedMemory } from "./memory.ts";

/** This process's attachment of a segment. */
export class Attachment extends MappedMemory {
  /** Names the object in ReleasedMemoryError messages. */
  protected readonly kind = "attachment";
  /** The id of the segment attached. */
  readonly segmentId: number;
  /** Whether it was attached with SHM_RDONLY. */
  readonly readOnly: boolean;

  /** @internal use SharedMemorySegment.attach() */
  constructor(address: Address, length: number, segmentId: number, readOnly: boolean) {
    super(address, length);
    this.segmentId = segmentId;
    this.readOnly = readOnly;
  }

  /** shmdt(2), made safe for views still held (see memory.ts). Idempotent; never removes the segment. */
  detach(): void {
    this.releaseRange(() => shmdt(this.address));
  }

  /** Whether the memory may be written (not attached read-only). */
  get writable(): boolean {
    return !this.readOnly;
  }

  /** Always true: an attachment is at least readable. */
  get readable(): boolean {
    return true;
  }

  /** Detaches, for `using`; the segment stays. */
  [Symbol.dispose](): void {
    this.detach();
  }
}

/** Options of `SharedMemorySegment.attach`. */
export interface AttachOptions {
  /** Attaches with SHM_RDONLY: writes through struct views throw (default false). */
  readOnly?: boolean;
}

/** A System V shared memory segment, by id. Removing it is explicit (`remove()`), as in C. */
export class SharedMemorySegment {
  /** The segment's id, as `ipcs -m` shows it. */
  readonly id: number;
  #key: number | undefined;
  #removed = false;

  private constructor(id: number, key: number | undefined) {
    this.id = id;
    this.#key = key;
  }

  /** The key the segment was created with (read with IPC_STAT when the object came from an id). */
  get key(): number {
    this.#key ??= shmStat(this.id).shm_perm.__key;
    return this.#key;
  }

  /** Creates a new segment; fails with EEXIST if `key` already has one (IPC_CREAT|IPC_EXCL). */
  static create(key: number, size: number, mode = 0o600): SharedMemorySegment {
    return new SharedMemorySegment(shmget(key, size, IPC_CREAT | IPC_EXCL | (mode & 0o777)), key);
  }

  /** Opens the segment for `key`, or creates it (IPC_CREAT without IPC_EXCL, as the tutorial's writer does). */
  static openOrCreate(key: number, size: number, mode = 0o600): SharedMemorySegment {
    return new SharedMemorySegment(shmget(key, size, IPC_CREAT | (mode & 0o777)), key);
  }

  /** Opens an existing segment; ENOENT if there is none. `minimumSize` > its size is EINVAL. */
  static open(key: number, minimumSize = 0): SharedMemorySegment {
    return new SharedMemorySegment(shmget(key, minimumSize, 0), key);
  }

  /** Wraps an id from elsewhere (e.g. `ipcs`). No system call is made until the object is used. */
  static fromId(id: number): SharedMemorySegment {
    return new SharedMemorySegment(id, undefined);
  }

  /** shmctl(IPC_STAT): the segment's `struct shmid_ds`. */
  stat(): ShmidDsSnapshot {
    return shmStat(this.id);
  }

  /** The segment's size in bytes (IPC_STAT). */
  get size(): number {
    return this.stat().shm_segsz;
  }

  /** shmat(2) at an address the kernel picks. */
  attach(options: AttachOptions = {}): Attachment {
    const readOnly = options.readOnly ?? false;
    const address = shmat(this.id, null, readOnly ? SHM_RDONLY : 0);
    let size: number;
    try {
      size = shmStat(this.id).shm_segsz;
    } catch (error) {
      shmdt(address);
      throw error;
    }
    return new Attachment(address, size, this.id, readOnly);
  }

  /**
   * shmctl(IPC_RMID). The segment disappears once the last process detaches. Idempotent: a segment
   * already removed (by this object or by anyone, e.g. `ipcrm`) is not an error.
   */
  remove(): void {
    if (this.#removed) return;
    try {
      shmctl(this.id, IPC_RMID);
    } catch (error) {
      if (!(error instanceof SystemError && (error.code === "EINVAL" || error.code === "EIDRM"))) throw error;
    }
    this.#removed = true;
  }
}
