/**
 * Both ends over a pair of Node streams (a UNIX socket, or a child's stdin and stdout), driven the
 * way Node code normally drives them: write() with backpressure ('drain'), 'data' events to read.
 */
import type { Readable, Writable } from "node:stream";
import { Arrivals, Flushes } from "./arrivals.ts";
import type { HostEnd, PeerEnd } from "./types.ts";

/**
 * Writes `count` copies of `message`, waiting whenever the stream's buffer is full, and resolves once
 * the last one (so every one: callbacks come in order) has been handed to the kernel.
 */
async function writeMany(writable: Writable, message: Uint8Array, count: number): Promise<void> {
  for (let i = 1; i < count; i++) {
    if (!writable.write(message)) await new Promise<void>((resolve) => writable.once("drain", resolve));
  }
  await new Promise<void>((resolve, reject) => writable.write(message, (error) => (error ? reject(error) : resolve())));
}

function countArrivals(readable: Readable, what: string): Arrivals {
  const arrivals = new Arrivals();
  readable.on("data", (chunk: Buffer) => arrivals.add(chunk.length));
  const gone = (): void => arrivals.fail(new Error(`${what}: the other side closed the stream`));
  readable.once("end", gone);
  readable.once("close", gone);
  readable.once("error", (error) => arrivals.fail(error));
  return arrivals;
}

export function streamHostEnd(readable: Readable, writable: Writable, release: () => void): HostEnd {
  const arrivals = countArrivals(readable, "host");
  return {
    receive: (size, count) => arrivals.expect(size * count),
    async pingPong(size, count, samples) {
      const message = Buffer.alloc(size, 0x70);
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        const answered = arrivals.expect(size);
        writable.write(message);
        await answered;
        samples[i] = (performance.now() - sent) / 1e3;
      }
    },
    close: release,
  };
}

export function streamPeerEnd(readable: Readable, writable: Writable, release: () => void): PeerEnd {
  // Paused between commands, so nothing that arrives early is dropped.
  readable.pause();
  return {
    send: (size, count) => writeMany(writable, Buffer.alloc(size, 0x78), count),
    async echo(size, count) {
      const total = size * count;
      let echoed = 0;
      const flushes = new Flushes();
      let writes = 0;
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          writes++;
          writable.write(chunk, flushes.done);
          echoed += chunk.length;
          if (echoed >= total) finish(null);
        };
        const onEnd = (): void => finish(new Error("the bench closed the stream during the echo"));
        const finish = (error: Error | null): void => {
          readable.off("data", onData);
          readable.off("end", onEnd);
          readable.pause();
          if (error) reject(error);
          else resolve();
        };
        readable.on("data", onData);
        readable.once("end", onEnd);
        readable.resume();
      });
      await flushes.until(writes);
    },
    close: release,
  };
}
