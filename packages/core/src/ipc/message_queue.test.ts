import { afterAll, afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { compileC, cSkipReason, removeCompiled, startCommand, startProgram, stopLeftoverPrograms, unusedIpcKey } from "@linux-ipc/testing/vitest";
import { formatKey } from "../libc/sys/ipc.ts";
import { getpid } from "../libc/unistd.ts";
import { MessageQueue } from "./message_queue.ts";
import { waitUntilBlocked } from "./procfs.ts";
import { WaitTimeoutError } from "./timeouts.ts";

const fixture = (name: string): string => fileURLToPath(new URL(`../../dist-fixtures/${name}.js`, import.meta.url));

const queues: MessageQueue[] = [];
afterEach(async () => {
  await stopLeftoverPrograms(0);
  for (const queue of queues.splice(0)) {
    const key = queue.key;
    queue.remove();
    expect(ipcsLine(key)).toBeUndefined();
  }
});
afterAll(removeCompiled);

function ipcsLine(key: number): string | undefined {
  return execFileSync("ipcs", ["-q"], { encoding: "utf8" })
    .split("\n")
    .find((line) => line.startsWith(formatKey(key)))
    ?.trim();
}

function created(mode = 0o600): MessageQueue {
  const queue = MessageQueue.create(unusedIpcKey(), mode);
  queues.push(queue);
  return queue;
}

const binary = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
const blockedInMsgrcv = (id: number) => waitUntilBlocked(process.pid, ["msgrcv"], { anyThread: true, firstArgument: (argument) => argument === BigInt(id) });

describe("MessageQueue", () => {
  it("creates exclusively, shows in ipcs -q, opens, stats, and is removed idempotently", () => {
    const queue = created(0o640);
    expect(ipcsLine(queue.key)?.split(/\s+/).slice(0, 2)).toEqual([formatKey(queue.key), String(queue.id)]);
    expect(() => MessageQueue.create(queue.key)).toThrow(expect.objectContaining({ code: "EEXIST", syscall: "msgget" }));
    expect(MessageQueue.open(queue.key).id).toBe(queue.id);
    expect(MessageQueue.openOrCreate(queue.key).id).toBe(queue.id);
    expect(MessageQueue.fromId(queue.id).key).toBe(queue.key);
    queue.send("hello", { type: 7 });
    expect(queue.stat()).toMatchObject({ key: queue.key, mode: 0o640, messages: 1, bytes: 5, lastSendPid: getpid(), lastReceivePid: 0 });
    expect(queue.stat().maxBytes).toBeGreaterThan(0);
    expect(queue.stat().maxMessageSize).toBeGreaterThan(0);
    const gone = MessageQueue.create(unusedIpcKey());
    gone.remove();
    gone.remove();
    expect(() => MessageQueue.open(gone.key)).toThrow(`ENOENT: no such file or directory, msgget 'key ${formatKey(gone.key)}'`);
  });

  it("round-trips binary text by type: 0 the first, > 0 that type, < 0 the lowest, except another", () => {
    const queue = created();
    queue.send(binary, { type: 3 });
    queue.send(new Uint8Array([0, 0x80, 0xff, 0]), { type: 1 });
    queue.send(new Uint8Array(0), { type: 9 });
    queue.send("last", { type: 3 });
    expect(queue.receive({ type: 9 })).toEqual({ bytes: new Uint8Array(0), type: 9 });
    expect(queue.receive({ type: -5 })).toEqual({ bytes: new Uint8Array([0, 0x80, 0xff, 0]), type: 1 });
    expect(queue.receive({ type: 4, except: true })).toEqual({ bytes: binary, type: 3 });
    expect(queue.receive()).toEqual({ bytes: new TextEncoder().encode("last"), type: 3 });
    expect(queue.stat()).toMatchObject({ messages: 0, bytes: 0, lastReceivePid: getpid() });
    expect(() => queue.send("x", { type: 0 })).toThrow(RangeError);
  });

  it("throws ENOMSG and EAGAIN without waiting, E2BIG or truncates, and WaitTimeoutError at the timeout", async () => {
    const queue = created();
    expect(() => queue.receive({ wait: false })).toThrow(expect.objectContaining({ code: "ENOMSG", errno: 42, syscall: "msgrcv", path: `id ${queue.id}` }));
    await expect(queue.receiveAsync({ wait: false })).rejects.toMatchObject({ code: "ENOMSG" });
    expect(() => queue.receive({ timeoutMs: 5 })).toThrow(WaitTimeoutError);
    await expect(queue.receiveAsync({ timeoutMs: 5 })).rejects.toThrow(WaitTimeoutError);
    queue.setMaxBytes(8);
    queue.send("12345678");
    expect(() => queue.send("x", { wait: false })).toThrow(expect.objectContaining({ code: "EAGAIN", syscall: "msgsnd" }));
    await expect(queue.sendAsync("x", { wait: false })).rejects.toMatchObject({ code: "EAGAIN" });
    await expect(queue.sendAsync("x", { timeoutMs: 5 })).rejects.toThrow(WaitTimeoutError);
    expect(() => queue.receive({ maxBytes: 4 })).toThrow(expect.objectContaining({ code: "E2BIG" }));
    expect(queue.receive({ maxBytes: 4, truncate: true })).toEqual({ bytes: new TextEncoder().encode("1234"), type: 1 });
  });

  it("names the limit a message passes: msgmax, and the queue's msg_qbytes (which would wait forever)", () => {
    const queue = created();
    expect(() => queue.send(new Uint8Array(1 << 20))).toThrow(/EINVAL: invalid argument, msgsnd 'id \d+' \(the message's size 1048576 is more than msgmax = \d+, \/proc\/sys\/kernel\/msgmax\)/);
    queue.setMaxBytes(16);
    expect(() => queue.send(new Uint8Array(17))).toThrow(
      /EINVAL: invalid argument, msgsnd 'id \d+' \(the message's size 17 is more than the queue's msg_qbytes = 16, set by IPC_SET or from \/proc\/sys\/kernel\/msgmnb\)/,
    );
  });

  it("waits asynchronously for a message of the type asked, and for room", async () => {
    const queue = created();
    const seven = queue.receiveAsync({ type: 7 });
    await blockedInMsgrcv(queue.id);
    queue.send(new Uint8Array(0), { type: 2 });
    queue.send("for seven", { type: 7 });
    expect(await seven).toEqual({ bytes: new TextEncoder().encode("for seven"), type: 7 });
    expect(queue.receive()).toEqual({ bytes: new Uint8Array(0), type: 2 });
    // A message without text is taken by the waiter thread itself, and handed over.
    const any = queue.receiveAsync();
    await blockedInMsgrcv(queue.id);
    queue.send(new Uint8Array(0), { type: 4 });
    expect(await any).toEqual({ bytes: new Uint8Array(0), type: 4 });
    queue.setMaxBytes(4);
    queue.send("full");
    const sent = queue.sendAsync("next", { type: 5 });
    expect(queue.receive()).toEqual({ bytes: new TextEncoder().encode("full"), type: 1 });
    await sent;
    expect(queue.receive()).toEqual({ bytes: new TextEncoder().encode("next"), type: 5 });
  });

  it("loses no message to aborted async receives, with or without text", async () => {
    const queue = created();
    const reason = new Error("stop");
    const controller = new AbortController();
    const waiting = queue.receiveAsync({ signal: controller.signal });
    await blockedInMsgrcv(queue.id);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    let received = 0;
    for (let i = 0; i < 200; i++) {
      const abort = new AbortController();
      const pending = queue.receiveAsync({ signal: abort.signal }).then(
        () => received++,
        (error: unknown) => expect(error).toBe(reason),
      );
      await new Promise((resolve) => setImmediate(resolve));
      queue.send(i % 2 === 0 ? new Uint8Array(0) : "text", { type: 1 + (i % 3) });
      abort.abort(reason);
      await pending;
    }
    expect(received + queue.stat().messages).toBe(200);
  });

  it("rejects a blocked receive with EIDRM when the queue is removed: async here, sync and async in another process", async () => {
    const queue = created();
    const pending = queue.receiveAsync();
    await blockedInMsgrcv(queue.id);
    queue.remove();
    await expect(pending).rejects.toMatchObject({ code: "EIDRM", syscall: "msgrcv", path: `id ${queue.id}` });
    for (const mode of ["sync", "timed", "async"]) {
      const other = created();
      const receiver = startProgram(fixture("msg-receiver"), [String(other.id), mode]);
      await waitUntilBlocked(receiver.pid, ["msgrcv"], { anyThread: true });
      other.remove();
      const result = await receiver.exited;
      expect(result.stdout).toBe("EIDRM\n");
    }
  });

  it("receives in another process blocked in a timed msgrcv (a timer's signal ends it at the deadline)", async () => {
    const queue = created();
    const receiver = startProgram(fixture("msg-receiver"), [String(queue.id), "timed"]);
    await waitUntilBlocked(receiver.pid, ["msgrcv"]);
    queue.send(binary, { type: 12 });
    expect((await receiver.exited).stdout).toBe("read 256 bytes, type = 12\n");
  });

  it("waits and aborts from a worker_threads Worker, which can be terminated with a wait pending", async () => {
    const queue = created();
    const core = new URL("../../dist/index.js", import.meta.url).href;
    const worker = new Worker(
      `import { workerData, parentPort } from "node:worker_threads";
      const { MessageQueue, waitUntilBlocked } = await import(${JSON.stringify(core)});
      const queue = MessageQueue.fromId(workerData);
      const controller = new AbortController();
      const aborted = queue.receiveAsync({ type: 5, signal: controller.signal }).catch((error) => error.name);
      await waitUntilBlocked(process.pid, ["msgrcv"], { anyThread: true });
      controller.abort();
      parentPort.postMessage(await aborted);
      const { bytes, type } = await queue.receiveAsync({ type: 3 });
      parentPort.postMessage([type, new TextDecoder().decode(bytes)]);
      void queue.receiveAsync({ type: 9 });
      await waitUntilBlocked(process.pid, ["msgrcv"], { anyThread: true, firstArgument: (id) => id === BigInt(workerData) });
      parentPort.postMessage("blocked");`,
      { eval: true, workerData: queue.id, stderr: false },
    );
    try {
      const messages: unknown[] = [];
      const done = new Promise<void>((resolve, reject) => {
        worker.on("message", (message: unknown) => {
          messages.push(message);
          if (messages.length === 1) queue.send("from the main thread", { type: 3 });
          if (messages.length === 3) resolve();
        });
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`worker exit ${code}`)));
      });
      await done;
      expect(messages).toEqual(["AbortError", [3, "from the main thread"], "blocked"]);
    } finally {
      // Ends although a wait is pending: the waiter thread sleeps in slices (see blocking_waiter_thread.ts).
      worker.removeAllListeners("exit");
      await worker.terminate();
    }
  });

  it("lets a process exit at once with an async receive pending", async () => {
    const queue = created();
    const result = await startProgram(fixture("msg-receiver"), [String(queue.id), "exit"], { timeoutMs: 10_000 }).exited;
    expect(result).toMatchObject({ code: 0, stdout: "exiting\n" });
  });
});

const skip = cSkipReason();

describe.skipIf(skip !== null)("MessageQueue against C", () => {
  it("receives what C's msgsnd sent: types and binary text intact", async () => {
    const source = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/msg.h>
struct message { long mtype; unsigned char mtext[256]; };
int main(int argc, char **argv) {
  int id = atoi(argv[1]);
  struct message m;
  for (int i = 0; i < 256; i++) m.mtext[i] = (unsigned char) (255 - i);
  for (long type = 1; type <= 3; type++) {
    m.mtype = type * 100;
    if (msgsnd(id, &m, 256 - type, 0) != 0) { perror("msgsnd"); return 1; }
  }
  return 0;
}`;
    const queue = created();
    const receiving = [queue.receiveAsync({ type: 300 }), queue.receiveAsync({ type: -250 }), queue.receiveAsync({ type: 200 })];
    const peer = startCommand(compileC("msg-sender", source), [String(queue.id)]);
    const [three, one, two] = await Promise.all(receiving);
    expect((await peer.exited).code).toBe(0);
    expect(three).toEqual({ bytes: binary.subarray(0, 253), type: 300 });
    expect(two).toEqual({ bytes: binary.subarray(0, 254), type: 200 });
    expect(one).toEqual({ bytes: binary.subarray(0, 255), type: 100 });
  });

  it("receives 5,000 messages from C with receiveAsync, none lost or reordered", async () => {
    const source = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/msg.h>
struct message { long mtype; int sequence; };
int main(int argc, char **argv) {
  int id = atoi(argv[1]), count = atoi(argv[2]);
  for (int i = 0; i < count; i++) {
    struct message m = { 1 + i % 3, i };
    if (msgsnd(id, &m, sizeof m.sequence, 0) != 0) { perror("msgsnd"); return 1; }
  }
  return 0;
}`;
    const queue = created();
    queue.setMaxBytes(64);
    const count = 5_000;
    const peer = startCommand(compileC("msg-stream", source), [String(queue.id), String(count)]);
    for (let i = 0; i < count; i++) {
      const { bytes, type } = await queue.receiveAsync();
      expect({ type, sequence: new DataView(bytes.buffer).getInt32(0, true) }).toEqual({ type: 1 + (i % 3), sequence: i });
    }
    expect((await peer.exited).code).toBe(0);
  });

  it("sends what C's msgrcv reads: types and binary text intact", async () => {
    const source = `
#include <stdio.h>
#include <stdlib.h>
#include <sys/msg.h>
struct message { long mtype; unsigned char mtext[64]; };
int main(int argc, char **argv) {
  int id = atoi(argv[1]);
  struct message m;
  for (int n = 0; n < 3; n++) {
    ssize_t length = msgrcv(id, &m, sizeof m.mtext, -10, 0);
    if (length < 0) { perror("msgrcv"); return 1; }
    printf("%ld:", m.mtype);
    for (ssize_t i = 0; i < length; i++) printf(" %02x", m.mtext[i]);
    printf("\\n");
  }
  return 0;
}`;
    const queue = created();
    queue.send(new Uint8Array([0x68, 0, 0x69]), { type: 8 });
    queue.send(new Uint8Array([0x80, 0xff, 0]), { type: 2 });
    queue.send(new Uint8Array(0), { type: 5 });
    const result = await startCommand(compileC("msg-receiver", source), [String(queue.id)]).exited;
    expect(result.stdout).toBe("2: 80 ff 00\n5:\n8: 68 00 69\n");
  });
});

if (skip !== null) it.skip(skip, () => {});
