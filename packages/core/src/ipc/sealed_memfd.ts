/**
 * Sealed memfds: shared memory that a peer cannot pull out from under a mapping.
 *
 * A process that maps a file another process can truncate dies of SIGBUS when it touches a page past
 * the new end. A memfd created with MFD_ALLOW_SEALING can be sealed against shrinking and growing
 * (F_SEAL_SHRINK | F_SEAL_GROW): from then on ftruncate to another size fails with EPERM for every
 * holder, so its size is fixed for good and a mapping of it is safe. The sender seals before it passes
 * the descriptor (over a UNIX socket, or to a child); the receiver checks the seals before it maps, and
 * refuses a memfd without them. With F_SEAL_SEAL too, nobody can add or change seals later (the
 * contents stay writable).
 *
 * @see https://man7.org/linux/man-pages/man2/memfd_create.2.html
 * @see https://man7.org/linux/man-pages/man2/fcntl.2.html (File Sealing)
 */
import { isSystemError } from "../libc/errno.ts";
import { fcntl, F_ADD_SEALS, F_GET_SEALS, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE } from "../libc/fcntl.ts";
import { fstat } from "../libc/sys/stat.ts";
import { MAP_SHARED, memfd_create, MFD_ALLOW_SEALING, MFD_CLOEXEC, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";
import { close, ftruncate } from "../libc/unistd.ts";
import { mmap, type Mapping } from "./mapping.ts";

/** The seals that make a memfd's size final: what a receiver requires before it maps (F_SEAL_SHRINK | F_SEAL_GROW). */
export const SIZE_SEALS: number = F_SEAL_SHRINK | F_SEAL_GROW;

const sealNames: ReadonlyArray<readonly [number, string]> = [
  [F_SEAL_SEAL, "F_SEAL_SEAL"],
  [F_SEAL_SHRINK, "F_SEAL_SHRINK"],
  [F_SEAL_GROW, "F_SEAL_GROW"],
  [F_SEAL_WRITE, "F_SEAL_WRITE"],
  [F_SEAL_FUTURE_WRITE, "F_SEAL_FUTURE_WRITE"],
];

/** The seal bits spelled out, `F_SEAL_SHRINK|F_SEAL_GROW`, or `none`. */
export function formatSeals(seals: number): string {
  const names = sealNames.filter(([bit]) => (seals & bit) !== 0).map(([, name]) => name);
  return names.length === 0 ? "none" : names.join("|");
}

/** Thrown by `checkSealed` and `mapSealedMemfd` when a descriptor lacks the seals asked for. */
export class UnsealedMemfdError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_MEMFD_NOT_SEALED";
  /** The descriptor checked. */
  readonly fd: number;
  /** The seals it has (0 for a file that cannot be sealed at all). */
  readonly seals: number;
  /** The seals asked for that it lacks. */
  readonly missing: number;
  constructor(fd: number, seals: number, missing: number, sealable: boolean) {
    super(
      sealable
        ? `descriptor ${fd} is a memfd without ${formatSeals(missing)} (its seals: ${formatSeals(seals)}): refusing to map it, since whoever else holds it could truncate it and make this process die of SIGBUS`
        : `descriptor ${fd} cannot carry seals (it is not a memfd, or not one of this kernel's sealable files): refusing to map it, since whoever else holds it could truncate it and make this process die of SIGBUS`,
    );
    this.fd = fd;
    this.seals = seals;
    this.missing = missing;
  }
}

/**
 * fcntl(F_GET_SEALS): the seals of `fd`. A memfd made without MFD_ALLOW_SEALING has F_SEAL_SEAL alone;
 * a file that cannot be sealed throws EINVAL.
 *
 * @see https://man7.org/linux/man-pages/man2/fcntl.2.html
 */
export function memfdSeals(fd: number): number {
  return fcntl(fd, F_GET_SEALS);
}

/** Options of `sealMemfd` and `createSealedMemfd`. */
export interface SealOptions {
  /** Adds F_SEAL_SEAL as well: no seal can be added afterwards (default false). */
  final?: boolean;
}

/**
 * Seals `fd` (a memfd made with MFD_ALLOW_SEALING) against shrinking and growing, and with `final`
 * against further sealing. Throws EPERM if its seals are already final (or it was made without
 * MFD_ALLOW_SEALING), EINVAL if it is not a memfd.
 *
 * @see https://man7.org/linux/man-pages/man2/fcntl.2.html (F_ADD_SEALS)
 */
export function sealMemfd(fd: number, options: SealOptions = {}): void {
  fcntl(fd, F_ADD_SEALS, SIZE_SEALS | (options.final === true ? F_SEAL_SEAL : 0));
}

/**
 * A new memfd of `length` bytes (zeroed), close-on-exec, sealed against shrinking and growing (and
 * with `final`, against further sealing): ready to pass to another process. Write its contents
 * through a mapping or write(2); its size can no longer change.
 *
 * @see https://man7.org/linux/man-pages/man2/memfd_create.2.html
 */
export function createSealedMemfd(name: string, length: number, options: SealOptions = {}): number {
  const fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  try {
    ftruncate(fd, length);
    sealMemfd(fd, options);
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

/**
 * Throws `UnsealedMemfdError` unless `fd` has every seal in `required` (default SIZE_SEALS): what a
 * receiver checks before it maps a descriptor it was given.
 */
export function checkSealed(fd: number, required: number = SIZE_SEALS): void {
  let seals: number;
  try {
    seals = memfdSeals(fd);
  } catch (error) {
    if (isSystemError(error, "EINVAL")) throw new UnsealedMemfdError(fd, 0, required, false);
    throw error;
  }
  const missing = required & ~seals;
  if (missing !== 0) throw new UnsealedMemfdError(fd, seals, missing, true);
}

/** Options of `mapSealedMemfd`. */
export interface MapSealedOptions {
  /** Maps it writable too (default: read only). */
  writable?: boolean;
}

/**
 * Checks that `fd` is sealed against shrinking and growing (`checkSealed`), then maps the whole of it,
 * shared. The descriptor stays the caller's (the mapping does not need it once made).
 *
 * @see https://man7.org/linux/man-pages/man2/mmap.2.html
 */
export function mapSealedMemfd(fd: number, options: MapSealedOptions = {}): Mapping {
  checkSealed(fd);
  const { size } = fstat(fd);
  return mmap(size, PROT_READ | (options.writable === true ? PROT_WRITE : 0), MAP_SHARED, fd, 0, { path: `memfd descriptor ${fd}` });
}
