/**
 * Argument checks shared by every binding, applied where a JavaScript value becomes a C argument.
 * koffi converts a number to a C integer by truncation and wrap-around (1.5 becomes 1, 2^40 becomes
 * 0 in an int), and a string to a C string that ends at its first NUL byte, so without these checks
 * a wrong argument silently becomes a different, valid one: a key of 2^40 becomes IPC_PRIVATE, a
 * path "/tmp/x\0.bak" becomes "/tmp/x". The errors have the shape and codes of Node's own
 * (`fs.openSync("a\0b")`, `Buffer.alloc(1.5)`): ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE,
 * ERR_INVALID_ARG_TYPE.
 */

/** An error with Node's `code` field, e.g. `ERR_OUT_OF_RANGE`. */
export interface CodedError extends Error {
  /** Node's error code, e.g. ERR_OUT_OF_RANGE. */
  readonly code: string;
}

function coded<E extends Error>(error: E, code: string): E & CodedError {
  Object.defineProperty(error, "code", { value: code, enumerable: true, writable: false, configurable: true });
  return error as E & CodedError;
}

// Node prints large integers with "_" separators (Received 1_099_511_627_776): the same here.
function formatReceived(value: unknown): string {
  if (typeof value === "number") {
    if (Number.isInteger(value) && Math.abs(value) > 2 ** 32) return withSeparators(String(value));
    return Object.is(value, -0) ? "-0" : String(value);
  }
  if (typeof value === "bigint") {
    const text = String(value);
    return `${value > 2n ** 32n || value < -(2n ** 32n) ? withSeparators(text) : text}n`;
  }
  if (typeof value === "string") return `'${value.replaceAll("\0", "\\x00")}'`;
  if (value === null || value === undefined) return String(value);
  return `type ${typeof value}`;
}

function withSeparators(text: string): string {
  const sign = text.startsWith("-") ? "-" : "";
  let digits = text.slice(sign.length);
  let out = "";
  while (digits.length > 3) {
    out = `_${digits.slice(-3)}${out}`;
    digits = digits.slice(0, -3);
  }
  return sign + digits + out;
}

/** The RangeError Node throws for an out-of-range number: code ERR_OUT_OF_RANGE. */
export function outOfRange(name: string, range: string, value: unknown): RangeError & CodedError {
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${formatReceived(value)}`), "ERR_OUT_OF_RANGE");
}

/** The TypeError Node throws for an argument of the wrong type: code ERR_INVALID_ARG_TYPE. */
export function invalidType(name: string, expected: string, value: unknown): TypeError & CodedError {
  return coded(new TypeError(`The "${name}" argument must be ${expected}. Received ${formatReceived(value)}`), "ERR_INVALID_ARG_TYPE");
}

/**
 * Checks that `value` is an integer from `min` to `max` (both included) and returns it. Throws a
 * TypeError (ERR_INVALID_ARG_TYPE) for a non-number, a RangeError (ERR_OUT_OF_RANGE) otherwise.
 */
export function checkInteger(value: number, name: string, min: number, max: number): number {
  if (typeof value !== "number") throw invalidType(name, "of type number", value);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = min === 0 && max === Number.MAX_SAFE_INTEGER ? "an integer >= 0" : `an integer >= ${min} and <= ${max}`;
    throw outOfRange(name, range, value);
  }
  return value;
}

/** Checks a C `short` (int16_t): -32768 to 32767. */
export function checkInt16(value: number, name: string): number {
  return checkInteger(value, name, -0x8000, 0x7fff);
}

/** Checks a C `unsigned short` (uint16_t): 0 to 65535. */
export function checkUint16(value: number, name: string): number {
  return checkInteger(value, name, 0, 0xffff);
}

/** Checks a C `int` (int32_t): -2^31 to 2^31-1. */
export function checkInt32(value: number, name: string): number {
  return checkInteger(value, name, -0x8000_0000, 0x7fff_ffff);
}

/** Checks a C `unsigned int` (uint32_t): 0 to 2^32-1. */
export function checkUint32(value: number, name: string): number {
  return checkInteger(value, name, 0, 0xffff_ffff);
}

/**
 * Checks a C `off_t`, `long` or signed 64-bit count given as a number: any safe integer (the
 * kernel judges the sign, e.g. ftruncate to -1 is its EINVAL).
 */
export function checkInt64(value: number, name: string): number {
  return checkInteger(value, name, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
}

/** Checks a size or length (`size_t`) given as a number: a safe integer >= 0. */
export function checkSize(value: number, name: string): number {
  return checkInteger(value, name, 0, Number.MAX_SAFE_INTEGER);
}

/** Checks a file descriptor: an integer from 0 to 2^31-1 (as Node's fs does). */
export function checkFd(value: number, name = "fd"): number {
  return checkInteger(value, name, 0, 0x7fff_ffff);
}

/**
 * Checks a System V key (`key_t`, a C int) and returns it as the kernel sees it. Both spellings of
 * a key are accepted: the signed int (-2^31 to 2^31-1) and the unsigned number `ipcs` prints
 * (0 to 0xffffffff), which becomes the same int, as the C cast `(key_t) 0xdeadbeef` does. Anything
 * else (1.5, 2^40) is refused: truncated, it could become IPC_PRIVATE (0), a new private object
 * where a shared one was asked for.
 */
export function checkKey(value: number, name = "key"): number {
  return checkInteger(value, name, -0x8000_0000, 0xffff_ffff) | 0;
}

/**
 * Checks a path or name passed to C as a NUL-terminated string: a string without NUL bytes (C would
 * stop at the first one and act on another file), as Node's fs requires. Throws a TypeError with
 * code ERR_INVALID_ARG_VALUE otherwise.
 */
export function checkPath(value: string, name = "path"): string {
  if (typeof value !== "string") throw invalidType(name, "of type string", value);
  if (value.includes("\0")) {
    throw coded(new TypeError(`The argument '${name}' must be a string without null bytes. Received ${formatReceived(value)}`), "ERR_INVALID_ARG_VALUE");
  }
  return value;
}
