/**
 * The one place that loads the C library. Every binding module declares its functions on `libc`
 * with C-shaped prototypes, using the type aliases below so the widths match glibc on 64-bit Linux.
 */
import "./platform.ts";
import koffiModule from "koffi";

/** koffi itself, for declaring a C function or type the package lacks. */
export const koffi: typeof koffiModule = koffiModule;

/** The loaded C library (glibc's libc.so.6): `libc.func(prototype)` declares a function from it. */
export const libc = koffi.load("libc.so.6");

/** koffi alias of C's `off_t`: 64 bits on 64-bit Linux. */
export const off_t = koffi.alias("off_t", "int64_t");
/** koffi alias of C's `mode_t`: permission and file type bits. */
export const mode_t = koffi.alias("mode_t", "uint32_t");
/** koffi alias of C's `key_t`: a System V IPC key. */
export const key_t = koffi.alias("key_t", "int32_t");
/** koffi alias of C's `pid_t`: a process id. */
export const pid_t = koffi.alias("pid_t", "int32_t");
/** koffi alias of C's `ssize_t`: a byte count, or -1 on error. */
export const ssize_t = koffi.alias("ssize_t", "intptr_t");

/** An address in this process as koffi 3 hands it over: a BigInt. */
export type Address = bigint;

/** Normalises koffi's `void *` result (a BigInt, or null for NULL) to an address. */
export function toAddress(pointer: unknown): Address {
  if (pointer === null) return 0n;
  if (typeof pointer === "bigint") return BigInt.asUintN(64, pointer);
  if (typeof pointer === "number") return BigInt.asUintN(64, BigInt(pointer));
  return BigInt.asUintN(64, koffi.address(pointer));
}

/** Reads the errno the last koffi call left (koffi restores it for async completions too). */
export function lastErrno(): number {
  return koffi.errno();
}

/** Bytes the kernel copies in or out: any typed array or Buffer, passed by address without copying. */
export type ByteBuffer = Uint8Array;

/** A koffi type, as `koffi.struct` and friends return it. */
export type KoffiType = ReturnType<typeof koffi.struct>;
/** A libuv poll handle as `koffi.node.poll` returns it. */
export type PollHandle = ReturnType<typeof koffi.node.poll>;
