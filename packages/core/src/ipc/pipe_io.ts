/**
 * Reading and writing pipes and FIFOs from the event loop: waiting on epoll (libuv's poll handle, no
 * thread held) instead of blocking in read(2)/write(2) (`readAsync`, `writeAllAsync`), whole
 * messages, line framing, and how many bytes a pipe holds.
 *
 * Atomicity: a write(2) of at most PIPE_BUF bytes to a pipe is never split or interleaved with other
 * writers' data. `writeAllAsync` hands the whole buffer to one write() call first, so a message of up
 * to PIPE_BUF bytes arrives whole; on an O_NONBLOCK descriptor such a write either writes everything
 * or fails with EAGAIN, and is retried whole once epoll says the pipe has room.
 */
import { koffi, libc, type ByteBuffer } from "../ffi/libc.ts";
import { check, isSystemError, SystemError } from "../libc/errno.ts";
import { poll, POLLIN } from "../libc/poll.ts";
import { read, write } from "../libc/unistd.ts";
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import { waitForFd } from "./poll.ts";

/** Options of `readAsync`. */
export interface ReadAsyncOptions {
  /** Stops waiting: the pending read rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * read(2) that keeps the event loop free: it waits on epoll (through libuv, no thread is held)
 * until the descriptor is readable, then reads. Meant for pipes, FIFOs and sockets with one reader;
 * a regular file is always readable and is read at once. Resolves with the byte count, 0 at end of file.
 */
export async function readAsync(fd: number, buffer: ByteBuffer, offset = 0, length?: number, options: ReadAsyncOptions = {}): Promise<number> {
  for (;;) {
    await waitForFd(fd, "readable", options);
    try {
      return read(fd, buffer, offset, length);
    } catch (error) {
      if (error instanceof SystemError && (error.code === "EAGAIN" || error.code === "EINTR")) continue;
      throw error;
    }
  }
}


/**
 * read(2) that blocks the thread until the descriptor is readable, whether it is O_NONBLOCK or not,
 * then reads: the byte count, 0 at end of file. It sleeps in poll(2), which a signal interrupts,
 * not in read(2), which the kernel restarts after Node's handlers: when SIGINT, SIGTERM or SIGHUP
 * comes in a program that listens for them, it throws a SystemError EINTR (syscall `poll`) having
 * read nothing, so that the listener can run (see ipc/interrupts.ts). Meant for pipes, FIFOs and
 * sockets with one reader; a regular file is always readable.
 */
export function readSync(fd: number, buffer: ByteBuffer, offset = 0, length?: number): number {
  for (;;) {
    waitUntilReadable(fd);
    try {
      return read(fd, buffer, offset, length);
    } catch (error) {
      // An O_NONBLOCK descriptor that another reader emptied first.
      if (!isSystemError(error, "EAGAIN")) throw error;
    }
  }
}

function waitUntilReadable(fd: number): void {
  using sleeping = interruptibleSleep();
  for (;;) {
    try {
      poll([{ fd, events: POLLIN }], -1);
      return;
    } catch (error) {
      if (!isSystemError(error, "EINTR")) throw error;
      interrupted(error);
    }
  }
}

/** ioctl request: the number of unread bytes in a pipe, FIFO or socket (same value on x86_64 and arm64). */
export const FIONREAD = 0x541b;

const ioctl_c = libc.func("int ioctl(int fd, unsigned long request, ...)");

/** ioctl(FIONREAD): how many bytes are waiting in the pipe (either end of it may be asked). */
export function bytesInPipe(fd: number): number {
  const count = [0];
  check(ioctl_c(fd, FIONREAD, koffi.out(koffi.pointer("int")), count) as number, "ioctl");
  return count[0]!;
}

/** Options of the waits in this module. */
export interface IoOptions {
  /** Stops waiting: the pending call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Writes every byte of `data` (a string as UTF-8). Each attempt is one write() of everything left,
 * so a message of up to PIPE_BUF bytes goes out in a single call and arrives whole. On EAGAIN it waits
 * on epoll until the pipe has room. Meant for O_NONBLOCK descriptors: on a blocking one, write(2)
 * itself blocks the thread when the pipe is full, as in C. With no reader left it throws EPIPE (Node
 * ignores SIGPIPE, so the error arrives instead of the signal).
 */
export async function writeAllAsync(fd: number, data: ByteBuffer | string, options: IoOptions = {}): Promise<void> {
  let bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  while (bytes.byteLength > 0) {
    let written: number;
    try {
      written = write(fd, bytes);
    } catch (error) {
      if (isSystemError(error, "EAGAIN")) {
        await waitForFd(fd, "writable", options);
        continue;
      }
      if (isSystemError(error, "EINTR")) continue;
      throw error;
    }
    bytes = bytes.subarray(written);
  }
}

/** Options of `readLines`. */
export interface ReadLinesOptions extends IoOptions {
  /** Bytes asked of each read() (default 64 KiB, a default pipe's whole capacity). */
  chunkSize?: number;
  /** A line longer than this many bytes is delivered in pieces of about this size (default 1 MiB). */
  maxLineBytes?: number;
}

/**
 * Cuts a byte stream into lines, however its reads happened to cut it: `push` each chunk as it comes
 * and take the complete lines it yields (their bytes as sent, without the "\n"); at the end, `flush`
 * gives a last line that had no "\n". A line longer than `maxLineBytes` comes out in pieces.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxLineBytes = 1 << 20) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Takes the next chunk of bytes and yields the lines it completes. */
  *push(chunk: Uint8Array): Generator<Buffer, void, undefined> {
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let newline = data.indexOf(0x0a, start); newline !== -1; newline = data.indexOf(0x0a, start)) {
      yield this.#take(data.subarray(start, newline));
      start = newline + 1;
    }
    if (start < data.byteLength) {
      // Copied: the caller may reuse the chunk for its next read.
      this.#pending.push(Buffer.from(data.subarray(start)));
      this.#pendingBytes += data.byteLength - start;
      if (this.#pendingBytes >= this.#maxLineBytes) yield this.#take(Buffer.alloc(0));
    }
  }

  /** At the end of the stream: the last line if it had no "\n", else null. */
  flush(): Buffer | null {
    return this.#pendingBytes > 0 ? this.#take(Buffer.alloc(0)) : null;
  }

  #take(tail: Buffer): Buffer {
    const line = Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }
}

/**
 * The lines read from `fd` until end of file, as the bytes that were sent (without their "\n"): one
 * line per line written, never one per read() chunk. A last line without "\n" is delivered at end of
 * file. The caller keeps the descriptor and closes it.
 */
export async function* readLineBytes(fd: number, options: ReadLinesOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  const { chunkSize = 65536, maxLineBytes = 1 << 20, signal } = options;
  const chunk = Buffer.allocUnsafe(chunkSize);
  const splitter = new LineSplitter(maxLineBytes);
  for (;;) {
    const count = await readAsync(fd, chunk, 0, undefined, { signal });
    if (count === 0) break;
    yield* splitter.push(chunk.subarray(0, count));
  }
  const last = splitter.flush();
  if (last !== null) yield last;
}

/** `readLineBytes` decoded as UTF-8 strings. */
export async function* readLines(fd: number, options: ReadLinesOptions = {}): AsyncGenerator<string, void, undefined> {
  for await (const line of readLineBytes(fd, options)) yield line.toString("utf8");
}
