/**
 * System errors shaped like Node's own (`fs.openSync('./abc.txt')` throws the same shape):
 * `code`, `errno`, `syscall`, `path`, and the message `ENOENT: no such file or directory, open './abc.txt'`.
 */
import { getSystemErrorMap, getSystemErrorName } from "node:util";
import { libc, lastErrno } from "../ffi/libc.ts";

const strerror_c = libc.func("const char *strerror(int errnum)");

/**
 * The C library's text for an errno value, as `perror` and `strerror` print it.
 *
 * @see https://man7.org/linux/man-pages/man3/strerror.3.html
 */
export function strerror(errno: number): string {
  return strerror_c(errno) as string;
}

// Linux errno values that System V IPC and robust futexes return but Node's table (libuv's) lacks.
const linuxOnly: ReadonlyMap<number, string> = new Map([
  [42, "ENOMSG"],
  [43, "EIDRM"],
  [44, "ECHRNG"],
  [130, "EOWNERDEAD"],
  [131, "ENOTRECOVERABLE"],
]);

/** The symbolic name of an errno value, e.g. 2 → 'ENOENT', 43 → 'EIDRM'. */
export function errnoName(errno: number): string {
  const linux = linuxOnly.get(errno);
  if (linux !== undefined) return linux;
  const name = getSystemErrorName(-errno);
  return name.startsWith("Unknown system error") ? `E${errno}` : name;
}

// Names Linux gives to the same number as another: <errno.h> defines EOPNOTSUPP as ENOTSUP (95),
// EWOULDBLOCK as EAGAIN, EDEADLOCK as EDEADLK. Errors carry one name (Node's), so these are looked
// up by number.
const aliases: ReadonlyMap<string, number> = new Map([
  ["EOPNOTSUPP", 95],
  ["EWOULDBLOCK", 11],
  ["EDEADLOCK", 35],
]);

// Node builds a new map on each getSystemErrorMap() call (a hundred entries from libuv): one, kept,
// spares every SystemError that cost, which counts where errors are expected (EAGAIN, ENOMSG).
const systemErrors = getSystemErrorMap();

/**
 * The errno numbers by name, for comparisons without bare numbers: `Errno.EAGAIN`, `Errno.EIDRM`.
 * Aliases are there too: `Errno.EOPNOTSUPP === Errno.ENOTSUP`.
 */
export const Errno: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries([
    ...[...systemErrors].map(([negative, [name]]) => [name, -negative] as const),
    ...[...linuxOnly].map(([errno, name]) => [name, errno] as const),
    ...aliases,
  ]),
);

/** What a SystemError names besides the call: the path (or key, id) and a second path. */
export interface SystemErrorDetails {
  /** The file, name, key or id the call was about. */
  path?: string;
  /** A second path, for calls with two. */
  dest?: string;
  /** What the errno alone does not say, added to the message in parentheses (e.g. which kernel limit a size passed). */
  note?: string;
}

/** The error every failing binding throws. `instanceof Error`, with Node's fields. */
export class SystemError extends Error {
  /** The errno's symbolic name, e.g. `ENOENT`. */
  readonly code: string;
  /** The errno value, positive as in C. */
  readonly errno: number;
  /** The failing call, e.g. `open`. */
  readonly syscall: string;
  /** The file, name, key or id the call was about, when there is one. */
  readonly path?: string;
  /** A second path, for calls with two. */
  readonly dest?: string;
  /** What the errno alone does not say (e.g. which kernel limit a size passed), when there is something. */
  readonly note?: string;

  constructor(errno: number, syscall: string, details: SystemErrorDetails = {}) {
    const code = errnoName(errno);
    // Node's lower-case descriptions where it has one, the C library's text otherwise.
    const description = systemErrors.get(-errno)?.[1] ?? strerror(errno).toLowerCase();
    let message = `${code}: ${description}, ${syscall}`;
    if (details.path !== undefined) message += ` '${details.path}'`;
    if (details.dest !== undefined) message += ` -> '${details.dest}'`;
    if (details.note !== undefined) message += ` (${details.note})`;
    super(message);
    this.name = "Error";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (details.path !== undefined) this.path = details.path;
    if (details.dest !== undefined) this.dest = details.dest;
    if (details.note !== undefined) this.note = details.note;
  }

  /** The line `perror(syscall)` would print: `open: No such file or directory`. */
  get perrorLine(): string {
    return `${this.syscall}: ${strerror(this.errno)}`;
  }
}

/** Builds a SystemError from the errno the failing call just left. Call it first thing after the call. */
export function errnoError(syscall: string, details?: SystemErrorDetails, errno = lastErrno()): SystemError {
  return new SystemError(errno, syscall, details);
}

/** For the common C convention: a result of -1 means failure, with the reason in errno. */
export function check<T extends number | bigint>(result: T, syscall: string, details?: SystemErrorDetails): T {
  if (result === -1 || result === -1n) throw errnoError(syscall, details);
  return result;
}

/**
 * Whether `value` is a SystemError (with errno name `code`, when given): for `catch` clauses. Names
 * of the same number match each other: an error coded ENOTSUP is `isSystemError(e, "EOPNOTSUPP")`.
 */
export function isSystemError(value: unknown, code?: string): value is SystemError {
  if (!(value instanceof SystemError)) return false;
  if (code === undefined || value.code === code) return true;
  const errno = Errno[code];
  return errno !== undefined && value.errno === errno;
}
