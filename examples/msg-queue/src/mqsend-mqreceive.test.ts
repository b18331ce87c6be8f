import { describe, expect, it } from "vitest";
import { PosixMessageQueue } from "@linux-ipc/core";
import { cSkipReason } from "@linux-ipc/testing/vitest";
import { BINARY, hex, posixQueueExists, queueLedger, run, runPeer, start, startPeer } from "./test-support.ts";

const ledger = queueLedger();

describe("mqcreate, mqsend, mqgetattr, mqreceive, mqunlink", () => {
  it("creates a queue, sends with priorities, receives the highest first, and unlinks it", async () => {
    const name = ledger.name();
    const created = await run("mqcreate", [name, "--excl", "--maxmsg", "5", "--msgsize", "100"]);
    expect(created.stderr).toBe("");
    expect(created.stdout).toBe(`${name}: max #msgs = 5, max #bytes/msg = 100, #currently on queue = 0\n`);
    for (const [priority, text] of [
      ["1", "low"],
      ["7", "high"],
      ["3", "mid"],
      ["7", "high again"],
    ] as const) {
      expect((await run("mqsend", [name, text, "--priority", priority])).code).toBe(0);
    }
    expect((await run("mqgetattr", [name])).stdout).toBe("max #msgs = 5, max #bytes/msg = 100, #currently on queue = 4\n");
    expect((await run("mqreceive", [name, "--count", "4"])).stdout).toBe(
      "read 4 bytes, priority = 7: high\nread 10 bytes, priority = 7: high again\nread 3 bytes, priority = 3: mid\nread 3 bytes, priority = 1: low\n",
    );
    expect((await run("mqunlink", [name])).code).toBe(0);
    expect(posixQueueExists(name)).toBe(false);
    const again = await run("mqunlink", [name]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`mqunlink: mq_unlink '${name}': No such file or directory\n`);
  });

  it("refuses a NAME without the leading slash in one clear line, exit code 1, for every program", async () => {
    for (const program of ["mqcreate", "mqsend", "mqreceive", "mqgetattr", "mqnotify", "mqunlink"]) {
      const result = await run(program, ["orders", ...(program === "mqsend" ? ["hi"] : [])]);
      expect(result.code, program).toBe(1);
      expect(result.stderr.split("\n")[0], program).toBe(`${program}: a POSIX queue's NAME starts with "/" (e.g. /orders), not 'orders'`);
    }
  });

  it("names the kernel limits, and says both sizes of a message too long for the queue", async () => {
    const name = ledger.name();
    const tooMany = await run("mqcreate", [name, "--maxmsg", "100000"]);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toContain("/proc/sys/fs/mqueue/msg_max");
    const tooBig = await run("mqcreate", [name, "--msgsize", "100000000"]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toContain("/proc/sys/fs/mqueue/msgsize_max");
    expect(posixQueueExists(name)).toBe(false);
    expect((await run("mqcreate", [name, "--msgsize", "4"])).code).toBe(0);
    const long = await run("mqsend", [name, "12345"]);
    expect(long.code).toBe(1);
    expect(long.stderr).toBe(`mqsend: mq_send '${name}': Message too long (the message's 5 bytes are more than the queue's mq_msgsize = 4)\n`);
  });

  it("with --nowait: a full queue is EAGAIN, an empty one too; --timeout gives up; nothing lost", async () => {
    const name = ledger.name();
    expect((await run("mqcreate", [name, "--maxmsg", "1"])).code).toBe(0);
    expect((await run("mqsend", [name, "only", "--nowait"])).code).toBe(0);
    const full = await run("mqsend", [name, "one more", "--nowait"]);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`mqsend: mq_send '${name}': Resource temporarily unavailable\n`);
    expect((await run("mqreceive", [name, "--nowait"])).stdout).toBe("read 4 bytes, priority = 0: only\n");
    const empty = await run("mqreceive", [name, "--nowait"]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(`mqreceive: mq_receive '${name}': Resource temporarily unavailable\n`);
    const timedOut = await run("mqreceive", [name, "--timeout", "50"]);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toBe(`mqreceive: mq_receive '${name}': timed out after 50 ms\n`);
  });

  it("mqnotify waits on the empty queue for mq_notify's SIGUSR1, then reads what arrived", async () => {
    const name = ledger.name();
    using queue = PosixMessageQueue.create(name);
    const waiting = start("mqnotify", [name, "--count", "2"]);
    await waiting.waitForLine("waiting for a message");
    queue.send(new TextEncoder().encode("first"), { priority: 2 });
    await waiting.waitForLine("waiting for a message", { after: 3 });
    queue.send(new TextEncoder().encode("second"), { priority: 4 });
    const result = await waiting.exited;
    expect(result.code).toBe(0);
    const waitingLine = `waiting for a message on ${name} (mq_notify: SIGUSR1 to pid ${waiting.pid})`;
    expect(result.stdout).toBe(`${waitingLine}\nSIGUSR1 received\nread 5 bytes, priority = 2: first\n${waitingLine}\nSIGUSR1 received\nread 6 bytes, priority = 4: second\n`);
    // It gave its registration up: another process may register now.
    expect(queue.attributes().currentMessages).toBe(0);
  });

  it("mqnotify reads the messages already queued first (no notification would come for them)", async () => {
    const name = ledger.name();
    using queue = PosixMessageQueue.create(name);
    queue.send(new TextEncoder().encode("early"), { priority: 1 });
    const result = await run("mqnotify", [name]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("read 5 bytes, priority = 1: early\n");
  });
});

describe.skipIf(cSkipReason() !== null)("against a C peer", () => {
  it("a C mq_send reaches mqreceive with its priority and every byte (NUL, 0x80-0xff)", async () => {
    const name = ledger.name();
    PosixMessageQueue.create(name).close();
    expect((await runPeer("mq_peer", ["send", name, "3", hex(new TextEncoder().encode("hello"))])).code).toBe(0);
    expect((await runPeer("mq_peer", ["send", name, "1", hex(BINARY)])).code).toBe(0);
    expect((await run("mqreceive", [name])).stdout).toBe("read 5 bytes, priority = 3: hello\n");
    const raw = await run("mqreceive", [name, "--raw"]);
    expect(raw.code).toBe(0);
    expect(new Uint8Array(raw.stdoutBytes)).toEqual(BINARY);
  });

  it("mqsend reaches a C mq_receive with its priority and every byte", async () => {
    const name = ledger.name();
    PosixMessageQueue.create(name).close();
    expect((await run("mqsend", [name, "--priority", "31"], BINARY)).code).toBe(0);
    expect((await run("mqsend", [name, "--priority", "32767", "top"])).code).toBe(0);
    expect((await runPeer("mq_peer", ["recv", name])).stdout).toBe(`priority=32767 len=3 hex=${hex(new TextEncoder().encode("top"))}\n`);
    expect((await runPeer("mq_peer", ["recv", name])).stdout).toBe(`priority=31 len=${BINARY.length} hex=${hex(BINARY)}\n`);
  });

  it("mqnotify is woken by a C mq_send", async () => {
    const name = ledger.name();
    PosixMessageQueue.create(name).close();
    const waiting = start("mqnotify", [name]);
    await waiting.waitForLine("waiting for a message");
    expect((await runPeer("mq_peer", ["send", name, "6", hex(new TextEncoder().encode("from C"))])).code).toBe(0);
    const result = await waiting.exited;
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").slice(1)).toEqual(["SIGUSR1 received", "read 6 bytes, priority = 6: from C", ""]);
  });

  it("100,000 messages from C through one queue reach mqreceive, none lost or reordered within a priority", async () => {
    const name = ledger.name();
    PosixMessageQueue.create(name).close();
    const count = 100_000;
    const sender = startPeer("mq_peer", ["stream", name, String(count)]);
    const receiver = start("mqreceive", [name, "--count", String(count), "--raw"], { timeoutMs: 120_000 });
    receiver.closeStdin();
    const [sent, received] = await Promise.all([sender.exited, receiver.exited]);
    expect(sent.code).toBe(0);
    expect(received.stderr).toBe("");
    expect(received.code).toBe(0);
    const bytes = received.stdoutBytes;
    expect(bytes.length).toBe(8 * count);
    const last = [-1, -1, -1, -1];
    const seen = new Uint8Array(count);
    let problems = 0;
    for (let i = 0; i < count; i++) {
      const sequence = bytes.readUInt32LE(8 * i);
      const priority = bytes.readUInt32LE(8 * i + 4);
      if (priority !== sequence % 4 || sequence <= last[priority]! || seen[sequence]) problems++;
      else last[priority] = sequence;
      seen[sequence] = 1;
    }
    expect(problems).toBe(0);
    expect(seen.every((one) => one === 1)).toBe(true);
  }, 150_000);
});
