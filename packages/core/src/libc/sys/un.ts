/**
 * <sys/un.h>: `struct sockaddr_un`, the address of a UNIX domain socket, and its two kinds of name.
 *
 * - A filesystem name, `/run/app.sock`: bind(2) creates a socket file there, which stays after the
 *   socket closes until someone unlinks it; connect(2) needs write permission on it.
 * - An abstract name, written here with its leading NUL byte: `"\0app"`. It lives in the network
 *   namespace, not in any directory, and disappears when the last socket bound to it closes, so
 *   nothing is ever left behind; any process of the namespace may connect (check the peer's
 *   credentials). Its bytes are exactly the address length's worth: no trailing NUL.
 *
 * An unnamed socket (one end of a socketpair, a client that never bound) has the address "".
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
import { invalidType } from "../../ffi/checks.ts";
import { defineStruct } from "../../ffi/struct.ts";

/** Address family of UNIX domain sockets (the same number as AF_LOCAL). */
export const AF_UNIX = 1;
/** Another name of AF_UNIX. */
export const AF_LOCAL = AF_UNIX;

/** The size of `sun_path`: a filesystem name holds at most 107 bytes and its NUL, an abstract one 108 bytes with its leading NUL. */
export const SUN_PATH_SIZE = 108;

/** glibc's `struct sockaddr_un`: the family, then the name. */
export const SockaddrUn = defineStruct("sockaddr_un", {
  sun_family: "uint16",
  sun_path: { char: SUN_PATH_SIZE },
});

/** A `struct sockaddr_un` in bytes and the length to pass with it (C's `socklen_t addrlen`). */
export interface EncodedSockaddrUn {
  /** The whole struct (SockaddrUn.size bytes). */
  readonly bytes: Uint8Array;
  /** How many of its bytes make the address: the family's 2, then the name's (with a filesystem name's NUL). */
  readonly length: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");
const pathOffset = SockaddrUn.offsets.sun_path;

/**
 * Whether `address` is an abstract name (it starts with a NUL byte).
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
export function isAbstract(address: string): boolean {
  return address.startsWith("\0");
}

/**
 * How an address reads in a message: a filesystem path as it is, an abstract name with `@` for its
 * NUL as ss(8) and /proc/net/unix show it, an unnamed socket as `(unnamed)`.
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
export function formatSocketAddress(address: string): string {
  if (address === "") return "(unnamed)";
  return isAbstract(address) ? `@${address.slice(1)}` : address;
}

/**
 * Encodes `address` (a filesystem path, or an abstract name starting with "\0") as a
 * `struct sockaddr_un` with its length. Throws a RangeError naming the limit when the name does not
 * fit, and a TypeError for the empty string or a path with a NUL inside.
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
export function sockaddrUn(address: string): EncodedSockaddrUn {
  if (typeof address !== "string") throw invalidType("address", "of type string", address);
  const name = encoder.encode(address);
  const bytes = new Uint8Array(SockaddrUn.size);
  new DataView(bytes.buffer).setUint16(SockaddrUn.offsets.sun_family, AF_UNIX, true);
  if (isAbstract(address)) {
    if (name.length > SUN_PATH_SIZE)
      throw new RangeError(`the abstract socket name ${formatSocketAddress(address)} is ${name.length - 1} bytes: at most ${SUN_PATH_SIZE - 1} fit in sun_path after its NUL`);
    bytes.set(name, pathOffset);
    return { bytes, length: pathOffset + name.length };
  }
  if (address === "") throw new TypeError('a socket address must be a path or an abstract name ("\\0name"), not the empty string');
  if (address.includes("\0")) throw new TypeError(`the socket path ${JSON.stringify(address)} has a NUL byte inside (only an abstract name starts with one)`);
  if (name.length + 1 > SUN_PATH_SIZE)
    throw new RangeError(`the socket path '${address}' is ${name.length} bytes: at most ${SUN_PATH_SIZE - 1} fit in sun_path with its NUL (use a shorter folder, or an abstract name)`);
  bytes.set(name, pathOffset);
  return { bytes, length: pathOffset + name.length + 1 };
}

/**
 * Decodes the first `length` bytes of a `struct sockaddr_un` that the kernel filled (accept4,
 * getsockname, getpeername, recvmsg's msg_name): "" for an unnamed socket, "\0name" for an abstract
 * one, the path otherwise.
 *
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 */
export function decodeSockaddrUn(bytes: Uint8Array, length: number): string {
  if (length <= pathOffset) return "";
  const name = bytes.subarray(pathOffset, Math.min(length, SockaddrUn.size));
  if (name[0] === 0) return `\0${decoder.decode(name.subarray(1))}`;
  const end = name.indexOf(0);
  return decoder.decode(end === -1 ? name : name.subarray(0, end));
}
