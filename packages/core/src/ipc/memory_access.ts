/**
 * Core's own way to the live bytes of a memory, read-only memory included. `MappedMemory.bytes`
 * refuses read-only memory, since a write through a JavaScript view of it would kill the process;
 * core's objects that only read such memory (a ring watched read-only: `head`, `tail`, `used`) still
 * need a live view. This module is not exported from the package.
 */
import type { SharedMemory } from "./memory.ts";

let access: ((memory: SharedMemory) => Uint8Array) | undefined;

/** Set once by memory.ts, which alone can reach a mapping's view. */
export function setLiveBytesAccess(reader: (memory: SharedMemory) => Uint8Array): void {
  access = reader;
}

/** The live bytes of `memory`: its `bytes`, or for read-only mapped memory the view `bytes` refuses to give out. */
export function liveBytes(memory: SharedMemory): Uint8Array {
  return access === undefined ? memory.bytes : access(memory);
}

/** Whether `memory` is known not to be writable (a PROT_READ mapping, an SHM_RDONLY attachment). */
export function isReadOnly(memory: SharedMemory): boolean {
  return (memory as { writable?: boolean }).writable === false;
}
