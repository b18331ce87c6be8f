import { afterAll, afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { compileC, cSkipReason, removeCompiled, startCommand, stopLeftoverPrograms } from "@linux-ipc/testing/vitest";
import { O_RDONLY } from "../libc/fcntl.ts";
import { mq_open } from "../libc/mqueue.ts";
import { PosixMessageQueue } from "./posix_message_queue.ts";
import { ClosedDescriptorError } from "./poll.ts";
import { WaitTimeoutError } from "./timeouts.ts";

const queues: PosixMessageQueue[] = [];
const names: string[] = [];
afterEach(async () => {
  await stopLeftoverPrograms(0);
  for (const queue of queues.splice(0)) {
    queue.close();
    queue.unlink();
  }
  // Nothing left behind: every name made by a test is gone (/dev/mqueue need not be mounted).
  for (const name of names.splice(0)) expect(() => mq_open(name, O_RDONLY)).toThrow(expect.objectContaining({ code: "ENOENT" }));
});
afterAll(removeCompiled);

function uniqueName(): string {
  const name = `/linux-ipc-test-${randomUUID()}`;
  names.push(name);
  return name;
}

function created(options: Parameters<typeof PosixMessageQueue.create>[1] = {}): PosixMessageQueue {
  const queue = PosixMessageQueue.create(uniqueName(), options);
  queues.push(queue);
  return queue;
}

const binary = Uint8Array.from({ length: 256 }, (_, i) => (i * 7) & 0xff);

describe("PosixMessageQueue", () => {
  it("round-trips binary messages, highest priority first, FIFO within a priority", () => {
    const queue = created({ maxMessages: 8, messageSize: 300 });
    expect(queue.attributes()).toEqual({ maxMessages: 8, messageSize: 300, currentMessages: 0 });
    queue.send(new Uint8Array([1]), { priority: 1 });
    queue.send(binary, { priority: 5 });
    queue.send(new Uint8Array([0, 0x80, 0xff]), { priority: 5 });
    queue.send(new Uint8Array(0));
    expect(queue.attributes().currentMessages).toBe(4);
    expect(queue.receive()).toEqual({ bytes: binary, priority: 5 });
    expect(queue.receive()).toEqual({ bytes: new Uint8Array([0, 0x80, 0xff]), priority: 5 });
    expect(queue.receive()).toEqual({ bytes: new Uint8Array([1]), priority: 1 });
    expect(queue.receive()).toEqual({ bytes: new Uint8Array(0), priority: 0 });
  });

  it("opens exclusively or not, closes idempotently (using), and unlinks", () => {
    const name = uniqueName();
    const queue = PosixMessageQueue.create(name, { maxMessages: 2, messageSize: 16, mode: 0o640 });
    queues.push(queue);
    expect(() => PosixMessageQueue.create(name)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "mq_open", path: name }));
    {
      using writer = PosixMessageQueue.open(name, "write");
      writer.send(new TextEncoder().encode("hi"), { priority: 3 });
      expect(writer.messageSize).toBe(16);
    }
    using again = PosixMessageQueue.openOrCreate(name);
    expect(again.receive()).toEqual({ bytes: new TextEncoder().encode("hi"), priority: 3 });
    again.close();
    again.close();
    expect(again.fd).toBe(-1);
    expect(() => again.receive()).toThrow(ClosedDescriptorError);
    expect(() => PosixMessageQueue.open("orders")).toThrow(/name is "\/" and a name without "\/" in it/);
    expect(() => PosixMessageQueue.open(uniqueName())).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "mq_open" }));
  });

  it("throws EAGAIN without waiting, EMSGSIZE past the message size, a WaitTimeoutError at the timeout, and names the limits", async () => {
    const queue = created({ maxMessages: 1, messageSize: 4 });
    expect(() => queue.receive({ wait: false })).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "mq_receive", path: queue.name }));
    await expect(queue.receiveAsync({ wait: false })).rejects.toMatchObject({ code: "EAGAIN" });
    expect(() => queue.receive({ timeoutMs: 1 })).toThrow(WaitTimeoutError);
    await expect(queue.receiveAsync({ timeoutMs: 1 })).rejects.toThrow(WaitTimeoutError);
    expect(() => queue.send(new Uint8Array(5))).toThrow(expect.objectContaining({ code: "EMSGSIZE", syscall: "mq_send" }));
    queue.send(new Uint8Array(4));
    expect(() => queue.send(new Uint8Array(1), { wait: false })).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "mq_send" }));
    await expect(queue.sendAsync(new Uint8Array(1), { wait: false })).rejects.toMatchObject({ code: "EAGAIN" });
    expect(() => queue.send(new Uint8Array(1), { timeoutMs: 1 })).toThrow(WaitTimeoutError);
    await expect(queue.sendAsync(new Uint8Array(1), { timeoutMs: 1 })).rejects.toThrow(WaitTimeoutError);
    expect(queue.attributes().currentMessages).toBe(1);
    expect(() => PosixMessageQueue.create(uniqueName(), { maxMessages: 1 << 20 })).toThrow(/msg_max = \d+, \/proc\/sys\/fs\/mqueue\/msg_max/);
    expect(() => PosixMessageQueue.create(uniqueName(), { messageSize: 1 << 30 })).toThrow(/msgsize_max = \d+, \/proc\/sys\/fs\/mqueue\/msgsize_max/);
  });

  it("waits asynchronously for a message and for room, the event loop free", async () => {
    const queue = created({ maxMessages: 1, messageSize: 8 });
    const received = queue.receiveAsync();
    let ticks = 0;
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        ticks++;
        resolve();
      }),
    );
    queue.send(new Uint8Array([42]), { priority: 2 });
    expect(await received).toEqual({ bytes: new Uint8Array([42]), priority: 2 });
    queue.send(new Uint8Array([1]));
    const sent = queue.sendAsync(new Uint8Array([2]), { priority: 4 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.receive()).toEqual({ bytes: new Uint8Array([1]), priority: 0 });
    await sent;
    expect(queue.receive()).toEqual({ bytes: new Uint8Array([2]), priority: 4 });
    expect(ticks).toBe(1);
  });

  it("loses no message to an aborted async receive, and close() ends pending waits", async () => {
    const queue = created({ maxMessages: 4, messageSize: 8 });
    const controller = new AbortController();
    const aborted = queue.receiveAsync({ signal: controller.signal });
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    queue.send(new Uint8Array([7]));
    expect(queue.receive()).toEqual({ bytes: new Uint8Array([7]), priority: 0 });
    const pending = queue.receiveAsync();
    queue.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedDescriptorError);
  });
});

const skip = cSkipReason();

describe.skipIf(skip !== null)("PosixMessageQueue against C", () => {
  it("receives what C's mq_send sent: bytes and priorities intact", async () => {
    const source = `
#include <mqueue.h>
#include <stdio.h>
int main(int argc, char **argv) {
  mqd_t q = mq_open(argv[1], O_WRONLY);
  if (q == (mqd_t) -1) { perror("mq_open"); return 1; }
  char all[256];
  for (int i = 0; i < 256; i++) all[i] = (char) i;
  for (unsigned prio = 0; prio < 4; prio++)
    if (mq_send(q, all + prio, 256 - prio, prio * 10) != 0) { perror("mq_send"); return 1; }
  return mq_close(q);
}`;
    const queue = created({ maxMessages: 2, messageSize: 256 });
    const peer = startCommand(compileC("mq-sender", source), [queue.name]);
    const priorities: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { bytes, priority } = await queue.receiveAsync();
      expect(bytes).toEqual(Uint8Array.from({ length: 256 - priority / 10 }, (_, j) => j + priority / 10));
      priorities.push(priority);
    }
    expect((await peer.exited).code).toBe(0);
    // Two fit at a time, so the order depends on how far C got: only the set is certain.
    expect(priorities.sort()).toEqual([0, 10, 20, 30]);
  });

  it("receives 5,000 messages from C with receiveAsync, none lost, FIFO within each priority", async () => {
    const source = `
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  mqd_t q = mq_open(argv[1], O_WRONLY);
  if (q == (mqd_t) -1) { perror("mq_open"); return 1; }
  int count = atoi(argv[2]);
  for (int i = 0; i < count; i++)
    if (mq_send(q, (const char *) &i, sizeof i, i % 3) != 0) { perror("mq_send"); return 1; }
  return mq_close(q);
}`;
    const queue = created({ maxMessages: 4, messageSize: 4 });
    const count = 5_000;
    const peer = startCommand(compileC("mq-stream", source), [queue.name, String(count)]);
    const last = [-1, -1, -1];
    for (let i = 0; i < count; i++) {
      const { bytes, priority } = await queue.receiveAsync();
      const sequence = new DataView(bytes.buffer).getInt32(0, true);
      expect(sequence % 3).toBe(priority);
      expect(sequence).toBeGreaterThan(last[priority]!);
      last[priority] = sequence;
    }
    expect((await peer.exited).code).toBe(0);
    expect(last).toEqual([4998, 4999, 4997]);
  });

  it("sends what C's mq_receive reads: bytes and priorities intact", async () => {
    const source = `
#include <mqueue.h>
#include <stdio.h>
int main(int argc, char **argv) {
  mqd_t q = mq_open(argv[1], O_RDONLY);
  if (q == (mqd_t) -1) { perror("mq_open"); return 1; }
  char buffer[64];
  unsigned prio;
  for (int n = 0; n < 3; n++) {
    ssize_t length = mq_receive(q, buffer, sizeof buffer, &prio);
    if (length < 0) { perror("mq_receive"); return 1; }
    printf("%u:", prio);
    for (ssize_t i = 0; i < length; i++) printf(" %02x", (unsigned char) buffer[i]);
    printf("\\n");
  }
  return mq_close(q);
}`;
    const queue = created({ maxMessages: 4, messageSize: 64 });
    queue.send(new Uint8Array([0x68, 0, 0x69]), { priority: 1 });
    queue.send(new Uint8Array([0x80, 0xff, 0]), { priority: 9 });
    queue.send(new Uint8Array(0), { priority: 1 });
    const result = await startCommand(compileC("mq-receiver", source), [queue.name]).exited;
    expect(result.stdout).toBe("9: 80 ff 00\n1: 68 00 69\n1:\n");
  });
});

if (skip !== null) it.skip(skip, () => {});
