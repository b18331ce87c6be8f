/**
 * <sys/shm.h>: shmget, shmat, shmdt, shmctl and `struct shmid_ds`. The objects over them,
 * `SharedMemorySegment` and `Attachment`, are in ipc/shared_memory.ts.
 *
 * A segment outlives every process until it is removed (IPC_RMID) or the machine reboots; detaching
 * never removes it.
 */
import { checkInt32, checkKey, checkSize } from "../../ffi/checks.ts";
import { libc, toAddress, type Address } from "../../ffi/libc.ts";
import { defineStruct, type SnapshotOf } from "../../ffi/struct.ts";
import { check, errnoError } from "../errno.ts";
import { MAP_FAILED } from "./mman.ts";
import { IpcPerm, IPC_STAT, formatKey } from "./ipc.ts";

/** shmat flag: attach read-only. */
export const SHM_RDONLY = 0o10000;
/** shmat flag: round the address given down to a multiple of SHMLBA. */
export const SHM_RND = 0o20000;
/** shmat flag (Linux): replace any mapping at the address given. */
export const SHM_REMAP = 0o40000;
/** shmctl command: keep the segment's pages in memory. */
export const SHM_LOCK = 11;
/** shmctl command: undo SHM_LOCK. */
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

/** `struct shmid_ds` read into a plain object by `shmStat`. */
export type ShmidDsSnapshot = SnapshotOf<typeof ShmidDs>;

const shmget_c = libc.func("int shmget(key_t key, size_t size, int shmflg)");
const shmat_c = libc.func("void *shmat(int shmid, void *shmaddr, int shmflg)");
const shmdt_c = libc.func("int shmdt(void *shmaddr)");
const shmctl_c = libc.func("int shmctl(int shmid, int cmd, void *buf)");

/** Error details that name the segment, so messages say which key or id failed. */
function keyed(key: number): { path: string } {
  return { path: `key ${formatKey(key)}` };
}

/**
 * shmget(2): the id of the segment for `key`, creating it as `flags` say (IPC_CREAT, IPC_EXCL,
 * mode).
 *
 * @see https://man7.org/linux/man-pages/man2/shmget.2.html
 */
export function shmget(key: number, size: number, flags: number): number {
  key = checkKey(key);
  checkSize(size, "size");
  checkInt32(flags, "flags");
  return check(shmget_c(key, size, flags) as number, "shmget", keyed(key));
}

/**
 * shmat(2): the raw address. Prefer `SharedMemorySegment.attach()`, which returns an Attachment.
 *
 * @see https://man7.org/linux/man-pages/man2/shmat.2.html
 */
export function shmat(id: number, address: Address | null = null, flags = 0): Address {
  checkInt32(id, "id");
  checkInt32(flags, "flags");
  const result = toAddress(shmat_c(id, address, flags));
  if (result === MAP_FAILED) throw errnoError("shmat", { path: `id ${id}` });
  return result;
}

/**
 * shmdt(2) on a raw address. Prefer `Attachment.detach()`, which keeps old views harmless.
 *
 * @see https://man7.org/linux/man-pages/man2/shmdt.2.html
 */
export function shmdt(address: Address): void {
  check(shmdt_c(address) as number, "shmdt");
}

/**
 * shmctl(2) with a `struct shmid_ds` buffer (or none for IPC_RMID).
 *
 * @see https://man7.org/linux/man-pages/man2/shmctl.2.html
 */
export function shmctl(id: number, cmd: number, buffer: Uint8Array | null = null): number {
  checkInt32(id, "id");
  checkInt32(cmd, "cmd");
  return check(shmctl_c(id, cmd, buffer) as number, "shmctl", { path: `id ${id}` });
}

/**
 * shmctl(IPC_STAT) read into a plain object.
 *
 * @see https://man7.org/linux/man-pages/man2/shmctl.2.html
 */
export function shmStat(id: number): ShmidDsSnapshot {
  const buffer = new Uint8Array(ShmidDs.size);
  shmctl(id, IPC_STAT, buffer);
  return ShmidDs.read(buffer);
}
