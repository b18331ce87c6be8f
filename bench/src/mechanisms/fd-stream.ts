/**
 * Both ends of a byte stream over a pair of descriptors (one to read, one to write), driven through
 * core's read/write as a C program would drive them. Two ways to wait for data:
 * - "blocking": read(2) on a blocking descriptor, the process sleeping in the kernel (event loop held);
 * - "readAsync": core's AsyncFd.read, which reads at once what is there and otherwise waits on epoll
 *   through one persistent libuv poll handle, the event loop staying free.
 * The sender always writes with blocking writeAll. Pipes and FIFOs share this code.
 */
import { AsyncFd, close, read, writeAll } from "@linux-ipc/core";
import type { HostEnd, PeerEnd } from "./types.ts";

export type Waiting = "blocking" | "readAsync";

/** Reads into a 64 KiB buffer, as the C reference does: a stream has no message boundaries. */
const READ_BUFFER = 65536;

class FdStream {
  readonly #input: number;
  readonly #output: number;
  readonly #waiting: Waiting;
  readonly #asyncInput: AsyncFd | null;
  readonly #buffer = new Uint8Array(READ_BUFFER);

  constructor(input: number, output: number, waiting: Waiting) {
    this.#input = input;
    this.#output = output;
    this.#waiting = waiting;
    this.#asyncInput = waiting === "readAsync" ? new AsyncFd(input) : null;
  }

  /**
   * Reads `total` bytes, each read into the start of the buffer and never past what is still due, so
   * a message that fits the buffer ends up whole at its start (the echo sends it back from there).
   */
  async drain(total: number): Promise<void> {
    for (let received = 0; received < total; ) {
      const wanted = Math.min(READ_BUFFER, total - received);
      const n = this.#asyncInput === null ? read(this.#input, this.#buffer, 0, wanted) : await this.#asyncInput.read(this.#buffer, 0, wanted);
      if (n === 0) throw new Error(`end of file after ${received} of ${total} bytes: the other side went away`);
      received += n;
    }
  }

  /** The same with blocking reads, without a promise per read (the loop must not pay for what it does not use). */
  drainBlocking(total: number): void {
    for (let received = 0; received < total; ) {
      const n = read(this.#input, this.#buffer, 0, Math.min(READ_BUFFER, total - received));
      if (n === 0) throw new Error(`end of file after ${received} of ${total} bytes: the other side went away`);
      received += n;
    }
  }

  get bytes(): Uint8Array {
    return this.#buffer;
  }

  write(message: Uint8Array): void {
    writeAll(this.#output, message);
  }

  get blocking(): boolean {
    return this.#waiting === "blocking";
  }

  close(): void {
    if (this.#asyncInput === null) close(this.#input);
    else this.#asyncInput.close();
    close(this.#output);
  }
}

export function hostEnd(input: number, output: number, waiting: Waiting): HostEnd {
  const stream = new FdStream(input, output, waiting);
  return {
    async receive(size, count) {
      if (stream.blocking) stream.drainBlocking(size * count);
      else await stream.drain(size * count);
    },
    async pingPong(size, count, samples) {
      const message = new Uint8Array(size).fill(0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        stream.write(message);
        if (stream.blocking) stream.drainBlocking(size);
        else await stream.drain(size);
        samples[i] = (performance.now() - sent) / 1e3;
      }
    },
    close: () => stream.close(),
  };
}

export function peerEnd(input: number, output: number, waiting: Waiting): PeerEnd {
  const stream = new FdStream(input, output, waiting);
  return {
    send(size, count) {
      const message = new Uint8Array(size).fill(0x78);
      for (let i = 0; i < count; i++) stream.write(message);
    },
    async echo(size, count) {
      const answer = stream.bytes.subarray(0, size);
      for (let i = 0; i < count; i++) {
        if (stream.blocking) stream.drainBlocking(size);
        else await stream.drain(size);
        stream.write(answer);
      }
    },
    close: () => stream.close(),
  };
}
