/**
 * System errors shaped like Node's own (`fs.openSync('./abc.txt')` throws the same shape):
 * `code`, `errno`, `syscall`, `path`, and the message `ENOENT: no such file or directory, open './abc.txt'`.
 */
import { getSystemErrorMap } from "node:util";
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

/**
 * Linux's errno numbers by name, in the kernel's order (<asm-generic/errno-base.h>, then
 * <asm-generic/errno.h>; x86_64 and arm64 both use these). 95 is named ENOTSUP, as Node and glibc
 * name it; the kernel's EOPNOTSUPP is among the aliases. layout.test.ts checks every number against
 * the C compiler's <errno.h>.
 */
const errnoNumbers = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  EIDRM: 43,
  ECHRNG: 44,
  EL2NSYNC: 45,
  EL3HLT: 46,
  EL3RST: 47,
  ELNRNG: 48,
  EUNATCH: 49,
  ENOCSI: 50,
  EL2HLT: 51,
  EBADE: 52,
  EBADR: 53,
  EXFULL: 54,
  ENOANO: 55,
  EBADRQC: 56,
  EBADSLT: 57,
  EBFONT: 59,
  ENOSTR: 60,
  ENODATA: 61,
  ETIME: 62,
  ENOSR: 63,
  ENONET: 64,
  ENOPKG: 65,
  EREMOTE: 66,
  ENOLINK: 67,
  EADV: 68,
  ESRMNT: 69,
  ECOMM: 70,
  EPROTO: 71,
  EMULTIHOP: 72,
  EDOTDOT: 73,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTUNIQ: 76,
  EBADFD: 77,
  EREMCHG: 78,
  ELIBACC: 79,
  ELIBBAD: 80,
  ELIBSCN: 81,
  ELIBMAX: 82,
  ELIBEXEC: 83,
  EILSEQ: 84,
  ERESTART: 85,
  ESTRPIPE: 86,
  EUSERS: 87,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  ENOTSUP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETOOMANYREFS: 109,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESTALE: 116,
  EUCLEAN: 117,
  ENOTNAM: 118,
  ENAVAIL: 119,
  EISNAM: 120,
  EREMOTEIO: 121,
  EDQUOT: 122,
  ENOMEDIUM: 123,
  EMEDIUMTYPE: 124,
  ECANCELED: 125,
  ENOKEY: 126,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
  EKEYREJECTED: 129,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
  ERFKILL: 132,
  EHWPOISON: 133,
} as const;

// Second names <errno.h> gives to a number: EWOULDBLOCK is EAGAIN, EDEADLOCK is EDEADLK, EOPNOTSUPP
// is ENOTSUP. An error carries the first name; isSystemError accepts either.
const errnoAliases = {
  EWOULDBLOCK: 11,
  EDEADLOCK: 35,
  EOPNOTSUPP: 95,
} as const;

/**
 * The name of a Linux errno value: `"ENOENT"`, `"EIDRM"`… A misspelt name (`"EACESS"`) is a
 * compile error wherever one is expected, as in `isSystemError(error, code)`.
 */
export type ErrnoCode = keyof typeof errnoNumbers | keyof typeof errnoAliases;

/**
 * The `code` of a SystemError: the errno's name, or `E` and the number for a value Linux does not
 * name (`"E4000"`).
 */
export type SystemErrorCode = keyof typeof errnoNumbers | `E${number}`;

const errnoNames: ReadonlyMap<number, keyof typeof errnoNumbers> = new Map(Object.entries(errnoNumbers).map(([name, errno]) => [errno, name as keyof typeof errnoNumbers]));

/** The symbolic name of an errno value, e.g. 2 → 'ENOENT', 43 → 'EIDRM' (`E` and the number when Linux has none). */
export function errnoName(errno: number): SystemErrorCode {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * The errno numbers by name, for comparisons without bare numbers: `Errno.EAGAIN`, `Errno.EIDRM`.
 * Aliases are there too: `Errno.EOPNOTSUPP === Errno.ENOTSUP`.
 */
export const Errno: Readonly<Record<ErrnoCode, number>> = Object.freeze({ ...errnoNumbers, ...errnoAliases });

/** What a SystemError names besides the call: the path (or key, id) and a second path. */
export interface SystemErrorDetails {
  /** The file, name, key or id the call was about. */
  path?: string;
  /** A second path, for calls with two. */
  dest?: string;
  /** What the errno alone does not say, added to the message in parentheses (e.g. which kernel limit a size passed). */
  note?: string;
}

// Node builds a new map on each getSystemErrorMap() call (a hundred entries from libuv): one, kept,
// spares every SystemError that cost, which counts where errors are expected (EAGAIN, ENOMSG).
const systemErrors = getSystemErrorMap();

/** The error every failing binding throws. `instanceof Error`, with Node's fields. */
export class SystemError extends Error {
  /** The errno's symbolic name, e.g. `ENOENT`. */
  readonly code: SystemErrorCode;
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
export function isSystemError(value: unknown, code?: ErrnoCode): value is SystemError {
  if (!(value instanceof SystemError)) return false;
  return code === undefined || value.errno === Errno[code];
}
