/**
 * Reading and writing pipes and FIFOs from the event loop: waiting on epoll (libuv's poll handle, no
 * thread held) instead of blocking in read(2)/write(2), whole messages, line framing, and how many
 * bytes a pipe holds.
 *
 * Atomicity: a write(2) of at most PIPE_BUF bytes to a pipe is never split or interleaved with other
 * writers' data. `writeAllAsync` hands the whole buffer to one write() call first, so a message of up
 * to PIPE_BUF bytes arrives whole; on an O_NONBLOCK descriptor such a write either writes everything
 * or fails with EAGAIN, and is retried whole once epoll says the pipe has room.
 */
import { koffi, libc, type ByteBuffer } from "./libc.ts";
import { check, isSystemError } from "./errno.ts";
import { readAsync, write } from "./unistd.ts";
import { waitForFd } from "./poll.ts";

/** ioctl request: the number of unread bytes in a pipe, FIFO or socket (same value on x86_64 and arm64). */
export const FIONREAD = 0x541b;

const ioctl_c = libc.func("int ioctl(int fd, unsigned long request, ...)");

/** ioctl(FIONREAD): how many bytes are waiting in the pipe (either end of it may be asked). */
export function bytesInPipe(fd: number): number {
  const count = [0];
  check(ioctl_c(fd, FIONREAD, koffi.out(koffi.pointer("int")), count) as number, "ioctl");
  return count[0]!;
}

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

export interface ReadLinesOptions extends IoOptions {
  /** Bytes asked of each read() (default 64 KiB, a default pipe's whole capacity). */
  chunkSize?: number;
  /** A line longer than this many bytes is delivered in pieces of about this size (default 1 MiB). */
  maxLineBytes?: number;
}

/**
 * The lines read from `fd` until end of file, as UTF-8 strings without their "\n", however read()
 * happened to cut the stream: one line per line written, never one per read() chunk. A last line
 * without "\n" is delivered at end of file. The caller keeps the descriptor and closes it.
 */
export async function* readLines(fd: number, options: ReadLinesOptions = {}): AsyncGenerator<string, void, undefined> {
  const { chunkSize = 65536, maxLineBytes = 1 << 20, signal } = options;
  const chunk = Buffer.allocUnsafe(chunkSize);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const takePending = (tail: Buffer): string => {
    const line = pending.length === 0 ? tail.toString("utf8") : Buffer.concat([...pending, tail]).toString("utf8");
    pending = [];
    pendingBytes = 0;
    return line;
  };
  for (;;) {
    const count = await readAsync(fd, chunk, 0, undefined, { signal });
    if (count === 0) break;
    const data = chunk.subarray(0, count);
    let start = 0;
    for (let newline = data.indexOf(0x0a, start); newline !== -1; newline = data.indexOf(0x0a, start)) {
      yield takePending(data.subarray(start, newline));
      start = newline + 1;
    }
    if (start < count) {
      // Copied: the chunk is reused by the next read.
      pending.push(Buffer.from(data.subarray(start)));
      pendingBytes += count - start;
      if (pendingBytes >= maxLineBytes) yield takePending(Buffer.alloc(0));
    }
  }
  if (pendingBytes > 0) yield takePending(Buffer.alloc(0));
}
