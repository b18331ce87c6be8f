/** <sys/ipc.h>: ftok, the IPC_* flags and commands, and `struct ipc_perm`. */
import { checkInteger, checkPath, outOfRange } from "../../ffi/checks.ts";
import { libc } from "../../ffi/libc.ts";
import { check } from "../errno.ts";
import { defineStruct } from "../../ffi/struct.ts";

/** The key that always makes a new object, reachable only by its id. */
export const IPC_PRIVATE = 0;
/** get flag: create the object if the key has none. */
export const IPC_CREAT = 0o1000;
/** get flag: with IPC_CREAT, fail with EEXIST if the key has an object. */
export const IPC_EXCL = 0o2000;
/** Operation flag: fail with EAGAIN instead of waiting. */
export const IPC_NOWAIT = 0o4000;

/** ctl command: remove the object. */
export const IPC_RMID = 0;
/** ctl command: set owner and mode from the `ipc_perm` given. */
export const IPC_SET = 1;
/** ctl command: read the object's `*id_ds` struct. */
export const IPC_STAT = 2;
/** ctl command: read the system-wide limits. */
export const IPC_INFO = 3;

/** glibc's `struct ipc_perm` on 64-bit Linux (`mode` is a full mode_t there). */
export const IpcPerm = defineStruct("ipc_perm", {
  __key: "int32",
  uid: "uint32",
  gid: "uint32",
  cuid: "uint32",
  cgid: "uint32",
  mode: "uint32",
  __seq: "uint16",
  __pad2: "uint16",
  __glibc_reserved1: "uint64",
  __glibc_reserved2: "uint64",
});

const ftok_c = libc.func("key_t ftok(const char *path, int proj_id)");

/**
 * ftok(3): a System V key from an existing file and a project id (only its low 8 bits count, and
 * they must not be 0: 0, 256 or 2^40 are refused with ERR_OUT_OF_RANGE).
 * The same path and id always give the same key while the file keeps its inode.
 *
 * @see https://man7.org/linux/man-pages/man3/ftok.3.html
 */
export function ftok(path: string, projId: number): number {
  checkPath(path);
  // An int of which only the low 8 bits count; those must not be 0 (ftok(3): proj_id must be
  // nonzero), and a number outside an int would be truncated into some other id.
  checkInteger(projId, "projId", 1, 0x7fff_ffff);
  if ((projId & 0xff) === 0) throw outOfRange("projId", "an integer >= 1 and <= 2147483647 whose low 8 bits are not all 0", projId);
  return check(ftok_c(path, projId) as number, "ftok", { path });
}

/** A key as `ipcs` prints it: `0x000004d2`. */
export function formatKey(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, "0")}`;
}
