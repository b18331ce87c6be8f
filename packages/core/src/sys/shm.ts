/**
 * <sys/shm.h>: shmget, shmat, shmdt, shmctl and `struct shmid_ds`, with a small object layer:
 * `SharedMemorySegment` (the kernel object: create-exclusive, open, stat, remove) and `Attachment`
 * (this process's view of it: `bytes`, structs in place, idempotent `detach()`, `using`).
 *
 * A segment outlives every process until it is removed (IPC_RMID) or the machine reboots; detaching
 * never removes it.
 */
import { libc, type Address } from "../libc.ts";
import { check, errnoError, SystemError } from "../errno.ts";
import { defineStruct } from "../struct.ts";
import { MappedMemory, toAddress, MAP_FAILED } from "../memory.ts";
import { IpcPerm, IPC_CREAT, IPC_EXCL, IPC_RMID, IPC_STAT, formatKey } from "./ipc.ts";

export const SHM_RDONLY = 0o10000;
export const SHM_RND = 0o20000;
export const SHM_REMAP = 0o40000;
export const SHM_LOCK = 11;
export const SHM_UNLOCK = 12;
/** Set in `shm_perm.mode` once IPC_RMID has been asked while processes were still attached. */
export const SHM_DEST = 0o1000;

/** glibc's `struct shmid_ds` on 64-bit Linux. */
export const ShmidDs = defineStruct("shmid_ds", {
  shm_perm: { struct: IpcPerm },
  shm_segsz: "uint64",
  shm_atime: "int64",
  shm_dtime: "int64",
  shm_ctime: "int64",
  shm_cpid: "int32",
  shm_lpid: "int32",
  shm_nattch: "uint64",
  __glibc_reserved5: "uint64",
  __glibc_reserved6: "uint64",
});

export type ShmidDsSnapshot = ReturnType<typeof ShmidDs.read>;

const shmget_c = libc.func("int shmget(key_t key, size_t size, int shmflg)");
const shmat_c = libc.func("void *shmat(int shmid, void *shmaddr, int shmflg)");
const shmdt_c = libc.func("int shmdt(void *shmaddr)");
const shmctl_c = libc.func("int shmctl(int shmid, int cmd, void *buf)");

/** Error details that name the segment, so messages say which key or id failed. */
function keyed(key: number): { path: string } {
  return { path: `key ${formatKey(key)}` };
}

/** shmget(2): the id of the segment for `key`, creating it as `flags` say (IPC_CREAT, IPC_EXCL, mode). */
export function shmget(key: number, size: number, flags: number): number {
  return check(shmget_c(key, size, flags) as number, "shmget", keyed(key));
}

/** shmat(2): the raw address. Prefer `SharedMemorySegment.attach()`, which returns an Attachment. */
export function shmat(id: number, address: Address | null = null, flags = 0): Address {
  const result = toAddress(shmat_c(id, address, flags));
  if (result === MAP_FAILED) throw errnoError("shmat", { path: `id ${id}` });
  return result;
}

/** shmdt(2) on a raw address. Prefer `Attachment.detach()`, which keeps old views harmless. */
export function shmdt(address: Address): void {
  check(shmdt_c(address) as number, "shmdt");
}

/** shmctl(2) with a `struct shmid_ds` buffer (or none for IPC_RMID). */
export function shmctl(id: number, cmd: number, buffer: Uint8Array | null = null): number {
  return check(shmctl_c(id, cmd, buffer) as number, "shmctl", { path: `id ${id}` });
}

/** shmctl(IPC_STAT) read into a plain object. */
export function shmStat(id: number): ShmidDsSnapshot {
  const buffer = new Uint8Array(ShmidDs.size);
  shmctl(id, IPC_STAT, buffer);
  return ShmidDs.read(buffer);
}

/** This process's attachment of a segment. */
export class Attachment extends MappedMemory {
  protected readonly kind = "attachment";
  readonly segmentId: number;
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

  get writable(): boolean {
    return !this.readOnly;
  }

  [Symbol.dispose](): void {
    this.detach();
  }
}

export interface AttachOptions {
  readOnly?: boolean;
}

/** A System V shared memory segment, by id. Removing it is explicit (`remove()`), as in C. */
export class SharedMemorySegment {
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

  stat(): ShmidDsSnapshot {
    return shmStat(this.id);
  }

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
