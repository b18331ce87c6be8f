/**
 * Reading and writing pipes, FIFOs and sockets from the event loop: `AsyncFd` (a descriptor it owns,
 * waited on through one persistent libuv poll handle) and the free functions `readAsync` and
 * `writeAllAsync` (a descriptor the caller keeps, waited on in the thread's own epoll set), whole
 * messages, line framing, and how many bytes a pipe holds. WAITING-fds.md says why they are built so.
 *
 * Every read or write is tried first without blocking and without touching the descriptor's flags:
 * preadv2/pwritev2 with RWF_NOWAIT, one system call as for the sync read(2) or write(2), so data
 * already there costs no wait. Only when that says EAGAIN does the call wait on epoll (no thread is
 * held) and try again. Linux refuses RWF_NOWAIT (EOPNOTSUPP) on FIFOs (6.18 still does, unlike
 * anonymous pipes), on terminals and, on older kernels, on pipes: there a poll(2) with no timeout
 * comes first, and the read or write only when it reports the descriptor ready, one system call
 * more than the sync form.
 *
 * Atomicity: a write(2) of at most PIPE_BUF bytes to a pipe is never split or interleaved with other
 * writers' data. `writeAllAsync` hands the whole buffer to one call first, so a message of up to
 * PIPE_BUF bytes arrives whole: such a write either writes everything or fails with EAGAIN, and is
 * retried whole once epoll says the pipe has room.
 */
import { checkFd, checkSize } from "../ffi/checks.ts";
import { koffi, lastErrno, libc, type ByteBuffer } from "../ffi/libc.ts";
import { check, Errno, isSystemError, SystemError } from "../libc/errno.ts";
import { poll, pollOne, POLLIN, POLLOUT } from "../libc/poll.ts";
import { close, read, write, writeAll, PIPE_BUF } from "../libc/unistd.ts";
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import { ClosedDescriptorError, FdWaiter, waitForReadiness, WOULD_BLOCK, type Readiness, type WaitOptions } from "./poll.ts";

/** Options of the waits in this module. */
export interface IoOptions {
  /** Stops waiting: the pending call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of `readAsync`. */
export type ReadAsyncOptions = IoOptions;

const RWF_NOWAIT = 0x08;
const EAGAIN = Errno.EAGAIN!;
const EINTR = Errno.EINTR!;
const EOPNOTSUPP = Errno.EOPNOTSUPP!;

const preadv2_c = libc.func("ssize_t preadv2(int fd, const void *iov, int iovcnt, off_t offset, int flags)");
const pwritev2_c = libc.func("ssize_t pwritev2(int fd, const void *iov, int iovcnt, off_t offset, int flags)");

// The argument of the one call in flight (they are synchronous): struct iovec { void *iov_base;
// size_t iov_len; }.
const iovec = new BigUint64Array(2);

/** Which calls a descriptor refused RWF_NOWAIT for: learned once per AsyncFd, once per call otherwise. */
interface NowaitRefusals {
  read: boolean;
  write: boolean;
}

function checkRegion(buffer: ByteBuffer, offset: number, length: number | undefined): number {
  checkSize(offset, "offset");
  if (length !== undefined) checkSize(length, "length");
  const end = length === undefined ? buffer.byteLength : offset + length;
  if (offset < 0 || end > buffer.byteLength || end < offset) {
    throw new RangeError(`read/write range ${offset}..${end} is outside a buffer of ${buffer.byteLength} bytes`);
  }
  return end - offset;
}

/** poll(2) with no timeout: whether `fd` reports any of `events` (or a hang-up or error) now. */
function readyNow(fd: number, events: number): boolean {
  return pollOne(fd, events, 0) !== 0;
}

/** One attempt at `nowait` (preadv2 or pwritev2 with RWF_NOWAIT): the count, WOULD_BLOCK, or null if refused. */
function nowait(call: typeof preadv2_c, name: string, fd: number, buffer: ByteBuffer, offset: number, length: number): number | null {
  iovec[0] = offset === 0 ? koffi.address(buffer) : koffi.address(buffer) + BigInt(offset);
  iovec[1] = BigInt(length);
  for (;;) {
    const result = Number(call(fd, iovec, 1, -1, RWF_NOWAIT));
    if (result >= 0) return result;
    const errno = lastErrno();
    if (errno === EAGAIN) return WOULD_BLOCK;
    if (errno === EOPNOTSUPP) return null;
    if (errno !== EINTR) throw new SystemError(errno, name);
  }
}

/** Reads what is there without blocking: the byte count (0 at end of file) or WOULD_BLOCK. */
function tryRead(fd: number, buffer: ByteBuffer, offset: number, length: number, refused: NowaitRefusals): number {
  if (!refused.read) {
    const count = nowait(preadv2_c, "preadv2", fd, buffer, offset, length);
    if (count !== null) return count;
    refused.read = true;
  }
  // With one reader, data (or end of file) that poll reports is still there for read(2), which
  // therefore returns at once on a blocking descriptor too. A FIFO opened for reading before any
  // writer came reports nothing, where read() would return 0 as if at end of file.
  if (!readyNow(fd, POLLIN)) return WOULD_BLOCK;
  try {
    return read(fd, buffer, offset, length);
  } catch (error) {
    if (isSystemError(error, "EAGAIN")) return WOULD_BLOCK;
    throw error;
  }
}

/** Writes what fits without blocking: the byte count or WOULD_BLOCK. */
function tryWrite(fd: number, bytes: ByteBuffer, refused: NowaitRefusals): number {
  if (!refused.write) {
    const count = nowait(pwritev2_c, "pwritev2", fd, bytes, 0, bytes.byteLength);
    if (count !== null) return count;
    refused.write = true;
  }
  // A pipe that poll reports writable has room for one more page, so a write of at most PIPE_BUF
  // bytes returns at once on a blocking descriptor too; a longer one could block, so it goes in
  // pieces. With the reader gone poll reports an error, and write(2) fails with EPIPE.
  if (!readyNow(fd, POLLOUT)) return WOULD_BLOCK;
  try {
    return write(fd, bytes, 0, Math.min(bytes.byteLength, PIPE_BUF));
  } catch (error) {
    if (isSystemError(error, "EAGAIN")) return WOULD_BLOCK;
    throw error;
  }
}

/** `tryRead` now; if it would block, what `whenBlocked` resolves with. Never throws: rejects. */
function readNowOr(fd: number, buffer: ByteBuffer, offset: number, length: number | undefined, refused: NowaitRefusals, whenBlocked: (size: number) => Promise<number>): Promise<number> {
  try {
    const size = checkRegion(buffer, offset, length);
    const count = tryRead(fd, buffer, offset, size, refused);
    return count === WOULD_BLOCK ? whenBlocked(size) : Promise.resolve(count);
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * Writes every byte: `tryWrite` while it writes, `whenBlocked(rest)` (how much it wrote) when it
 * would block. An owner's `closed` is asked after each wait: the descriptor may have been closed, and
 * its number reused, while this call waited.
 */
async function writeEvery(fd: number, data: ByteBuffer | string, refused: NowaitRefusals, whenBlocked: (rest: ByteBuffer) => Promise<number>, closed = (): boolean => false): Promise<void> {
  let bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  while (bytes.byteLength > 0) {
    const written = tryWrite(fd, bytes, refused);
    if (written !== WOULD_BLOCK) {
      bytes = bytes.subarray(written);
      continue;
    }
    bytes = bytes.subarray(await whenBlocked(bytes));
    if (closed()) throw new ClosedDescriptorError(fd);
  }
}

/**
 * read(2) that keeps the event loop free, for a descriptor the caller keeps: reads at once what is
 * there; otherwise waits on epoll (through libuv, no thread is held) until the descriptor is readable,
 * then reads. Meant for pipes, FIFOs and sockets with one reader; a regular file is read at once.
 * Resolves with the byte count, 0 at end of file. The descriptor's flags are never changed, so a
 * later plain read() blocks or not as before. The caller may close the descriptor between calls
 * (see `waitForFd`: a call still pending would read whatever gets its number next, as in C, so abort
 * it first); an `AsyncFd`, which owns its descriptor, waits a little faster.
 *
 * @see https://man7.org/linux/man-pages/man2/readv.2.html (preadv2, RWF_NOWAIT)
 */
export function readAsync(fd: number, buffer: ByteBuffer, offset = 0, length?: number, options: ReadAsyncOptions = {}): Promise<number> {
  checkFd(fd);
  const refused: NowaitRefusals = { read: false, write: false };
  return readNowOr(fd, buffer, offset, length, refused, async (size) => {
    for (;;) {
      // A regular file is never "ready" to epoll, and RWF_NOWAIT says EAGAIN while its data is not cached.
      if (!(await waitForReadiness(fd, "readable", options))) return read(fd, buffer, offset, size);
      const count = tryRead(fd, buffer, offset, size, refused);
      if (count !== WOULD_BLOCK) return count;
    }
  });
}

/**
 * Writes every byte of `data` (a string as UTF-8) without blocking the thread, for a descriptor the
 * caller keeps. Each attempt is one write of everything left, so a message of up to PIPE_BUF bytes
 * goes out in a single call and arrives whole; when the pipe is full it waits on epoll until it has
 * room. With no reader left it throws EPIPE (Node ignores SIGPIPE, so the error arrives instead of
 * the signal). The descriptor's flags are never changed.
 *
 * @see https://man7.org/linux/man-pages/man2/readv.2.html (pwritev2, RWF_NOWAIT)
 * @see https://man7.org/linux/man-pages/man7/pipe.7.html (PIPE_BUF)
 */
export function writeAllAsync(fd: number, data: ByteBuffer | string, options: IoOptions = {}): Promise<void> {
  checkFd(fd);
  return writeEvery(fd, data, { read: false, write: false }, async (rest) => {
    if (await waitForReadiness(fd, "writable", options)) return 0;
    writeAll(fd, rest);
    return rest.byteLength;
  });
}

/**
 * A descriptor (a pipe or FIFO end, a socket, an eventfd) read and written from the event loop through
 * one libuv poll handle kept for its life, instead of one per wait: what a program that reads or
 * writes a descriptor many times should use. It owns the descriptor: `close()` ends the pending
 * calls (ClosedDescriptorError), closes the handle, then the descriptor, in the order libuv needs
 * (a poll handle outliving its descriptor aborts the process once the number is reused). Close it
 * through this object only. Its flags are never changed.
 *
 * @see https://man7.org/linux/man-pages/man7/epoll.7.html
 */
export class AsyncFd implements Disposable {
  readonly #fd: number;
  readonly #waiter: FdWaiter;
  readonly #refused: NowaitRefusals = { read: false, write: false };

  /** Takes `fd` over. Throws if another AsyncFd has it. */
  constructor(fd: number) {
    this.#fd = checkFd(fd);
    this.#waiter = new FdWaiter(fd);
  }

  /** The descriptor, for calls this class does not make (fstat, ioctl). Never close it directly. */
  get fd(): number {
    return this.#fd;
  }

  /** Whether `close` has been called. */
  get closed(): boolean {
    return this.#waiter.closed;
  }

  /**
   * As `readAsync`: resolves with the byte count read into `buffer`, 0 at end of file. When it has
   * to wait, the read happens in the poll handle's callback, one promise for the whole call.
   */
  read(buffer: ByteBuffer, offset = 0, length?: number, options: IoOptions = {}): Promise<number> {
    if (this.closed) return Promise.reject(new ClosedDescriptorError(this.#fd));
    const fd = this.#fd;
    const refused = this.#refused;
    return readNowOr(fd, buffer, offset, length, refused, (size) => {
      if (!this.#waiter.pollable) return Promise.resolve(read(fd, buffer, offset, size));
      return this.#waiter.attempt("readable", () => tryRead(fd, buffer, offset, size, refused), options);
    });
  }

  /** As `writeAllAsync`: writes every byte, a message of up to PIPE_BUF bytes in one piece. */
  writeAll(data: ByteBuffer | string, options: IoOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedDescriptorError(this.#fd));
    const fd = this.#fd;
    const refused = this.#refused;
    return writeEvery(
      fd,
      data,
      refused,
      (rest) => {
        if (!this.#waiter.pollable) {
          writeAll(fd, rest);
          return Promise.resolve(rest.byteLength);
        }
        return this.#waiter.attempt("writable", () => tryWrite(fd, rest, refused), options);
      },
      () => this.closed,
    );
  }

  /** Resolves when the descriptor is readable or writable (as `waitForFd`), for calls this class does not make. */
  wait(readiness: Readiness, options: WaitOptions = {}): Promise<void> {
    return this.#waiter.wait(readiness, options);
  }

  /** As `readLineBytes`, until end of file. */
  readLineBytes(options: ReadLinesOptions = {}): AsyncGenerator<Buffer, void, undefined> {
    return linesFrom((chunk, signal) => this.read(chunk, 0, undefined, { signal }), options);
  }

  /** As `readLines`, until end of file. */
  async *readLines(options: ReadLinesOptions = {}): AsyncGenerator<string, void, undefined> {
    for await (const line of this.readLineBytes(options)) yield line.toString("utf8");
  }

  /** Ends the pending calls, then closes the handle and the descriptor. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.#waiter.close();
    close(this.#fd);
  }

  /** Closes it, for `using`. */
  [Symbol.dispose](): void {
    this.close();
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
  using _sleeping = interruptibleSleep();
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
 * file. The caller keeps the descriptor and closes it; `AsyncFd.readLineBytes` reads through a
 * persistent handle instead.
 */
export function readLineBytes(fd: number, options: ReadLinesOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  return linesFrom((chunk, signal) => readAsync(fd, chunk, 0, undefined, { signal }), options);
}

/** `readLineBytes` decoded as UTF-8 strings. */
export async function* readLines(fd: number, options: ReadLinesOptions = {}): AsyncGenerator<string, void, undefined> {
  for await (const line of readLineBytes(fd, options)) yield line.toString("utf8");
}

async function* linesFrom(read: (chunk: Buffer, signal: AbortSignal | undefined) => Promise<number>, options: ReadLinesOptions): AsyncGenerator<Buffer, void, undefined> {
  const { chunkSize = 65536, maxLineBytes = 1 << 20, signal } = options;
  const chunk = Buffer.allocUnsafe(chunkSize);
  const splitter = new LineSplitter(maxLineBytes);
  for (;;) {
    const count = await read(chunk, signal);
    if (count === 0) break;
    yield* splitter.push(chunk.subarray(0, count));
  }
  const last = splitter.flush();
  if (last !== null) yield last;
}
