import { writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { MessageQueue, formatKey, ftok } from "@linux-ipc/core";
import { cSkipReason, useTempDir } from "@linux-ipc/testing/vitest";
import { BINARY, hex, ipcsQueueKeys, queueLedger, run, runPeer, sleepingIn, start, startPeer } from "./test-support.ts";

const ledger = queueLedger();
const tmp = useTempDir("msg-queue-");

describe("msgcreate, msgsnd, msgrcv, msgrmid", () => {
  it("creates a queue, sends with types, receives by type 0, > 0 and < 0, and removes it", async () => {
    const key = formatKey(ledger.key());
    const created = await run("msgcreate", ["--key", key, "--excl", "--mode", "640"]);
    expect(created.stderr).toBe("");
    const id = Number(/^key = (0x[0-9a-f]{8}), msqid = (\d+)$/.exec(created.stdout.trim())![2]);
    expect(created.stdout.trim()).toBe(`key = ${key}, msqid = ${id}`);
    expect(MessageQueue.open(Number(key)).id).toBe(id);
    expect(MessageQueue.fromId(id).stat().mode).toBe(0o640);

    for (const [type, text] of [
      ["30", "thirty"],
      ["10", "ten"],
      ["20", "twenty"],
    ] as const) {
      expect((await run("msgsnd", ["--key", key, "--type", type, text])).code).toBe(0);
    }
    expect((await run("msgrcv", ["--key", key, "--type", "20"])).stdout).toBe("read 6 bytes, type = 20: twenty\n");
    expect((await run("msgrcv", ["--key", key, "--type", "-30"])).stdout).toBe("read 3 bytes, type = 10: ten\n");
    expect((await run("msgrcv", ["--key", key])).stdout).toBe("read 6 bytes, type = 30: thirty\n");

    const removed = await run("msgrmid", ["--key", key]);
    expect(removed.stdout).toBe(`removed key = ${key}, msqid = ${id}\n`);
    expect(ipcsQueueKeys()).not.toContain(Number(key) | 0);
  });

  it("refuses an existing key with --excl, and a missing queue, in one line with exit code 1", async () => {
    const key = formatKey(ledger.key());
    expect((await run("msgcreate", ["--key", key])).code).toBe(0);
    const again = await run("msgcreate", ["--key", key, "--excl"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`msgcreate: msgget 'key ${key}': File exists\n`);
    expect((await run("msgcreate", ["--key", key])).code).toBe(0);
    expect((await run("msgrmid", ["--key", key])).code).toBe(0);
    const missing = await run("msgsnd", ["--key", key, "hi"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`msgsnd: msgget 'key ${key}': No such file or directory (no queue has this key: create it with msgcreate --key ${key})\n`);
  });

  it("takes the key from ftok(--path, --proj-id), and refuses --key with --path", async () => {
    const anchor = tmp.file("anchor");
    writeFileSync(anchor, "");
    const key = ledger.key();
    // The ledger's key is unused; ftok's is claimed for the cleanup too.
    const ftokKey = ledger.track(ftok(anchor, 0x51));
    const created = await run("msgcreate", ["--path", anchor, "--proj-id", "0x51", "--excl"]);
    try {
      expect(created.stdout).toMatch(new RegExp(`^key = ${formatKey(ftokKey)}, msqid = \\d+\\n$`));
      const both = await run("msgrmid", ["--key", formatKey(key), "--path", anchor]);
      expect(both.code).toBe(1);
      expect(both.stderr.split("\n")[0]).toBe("msgrmid: give --key or --path (with --proj-id), not both");
    } finally {
      expect((await run("msgrmid", ["--path", anchor, "--proj-id", "0x51"])).code).toBe(0);
    }
  });

  it("with --nowait: a full queue is EAGAIN and an empty one ENOMSG, exit code 1, nothing lost", async () => {
    const key = ledger.key();
    const queue = MessageQueue.create(key);
    queue.setMaxBytes(8);
    expect((await run("msgsnd", ["--key", formatKey(key), "--nowait", "12345678"])).code).toBe(0);
    const full = await run("msgsnd", ["--key", formatKey(key), "--nowait", "x"]);
    expect(full.code).toBe(1);
    expect(full.stderr).toBe(`msgsnd: msgsnd 'id ${queue.id}': Resource temporarily unavailable\n`);
    expect((await run("msgrcv", ["--key", formatKey(key), "--nowait"])).stdout).toBe("read 8 bytes, type = 1: 12345678\n");
    const empty = await run("msgrcv", ["--key", formatKey(key), "--nowait"]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(`msgrcv: msgrcv 'id ${queue.id}': No message of desired type\n`);
  });

  it("names the kernel limit a message passes", async () => {
    const key = ledger.key();
    MessageQueue.create(key);
    const tooLong = await run("msgsnd", ["--key", formatKey(key)], new Uint8Array(1 << 20));
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toContain("/proc/sys/kernel/msgmax");
  });

  it("a queue removed under a blocked msgrcv ends it with 'Identifier removed' and exit code 1", async () => {
    const key = formatKey(ledger.key());
    expect((await run("msgcreate", ["--key", key])).code).toBe(0);
    const receiver = start("msgrcv", ["--key", key]);
    await sleepingIn(receiver.pid, "msgrcv");
    expect((await run("msgrmid", ["--key", key])).code).toBe(0);
    const result = await receiver.exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^msgrcv: msgrcv 'id \d+': Identifier removed\n$/);
    expect(result.stdout).toBe("");
  });
});

describe("msgstat", () => {
  it("shows struct msqid_ds as ipcs -q -i does, and the kernel's limits", async () => {
    const key = ledger.key();
    const queue = MessageQueue.create(key, 0o640);
    queue.send("hello", { type: 5 });
    queue.send("you", { type: 6 });
    queue.receive({ type: 6 });
    const result = await run("msgstat", ["--key", formatKey(key)]);
    expect(result.stderr).toBe("");
    const ipcs = execFileSync("ipcs", ["-q", "-i", String(queue.id)], { encoding: "utf8" });
    const lines = (text: string): string[] =>
      text
        .split("\n")
        .map((line) => line.trimEnd())
        .filter((line) => line !== "");
    const shown = lines(result.stdout);
    expect(shown.slice(0, 6)).toEqual(lines(ipcs));
    expect(shown[2]).toBe(`cbytes=5\tqbytes=${queue.stat().maxBytes}\tqnum=1\tlspid=${process.pid}\tlrpid=${process.pid}`);
    expect(shown[6]).toMatch(/^limits: msgmax=\d+ \(\/proc\/sys\/kernel\/msgmax\), msgmnb=\d+ \(\/proc\/sys\/kernel\/msgmnb\)$/);
  });
});

describe.skipIf(cSkipReason() !== null)("against a C peer", () => {
  it("a C msgsnd reaches msgrcv with its type and every byte (NUL, 0x80-0xff)", async () => {
    const key = formatKey(ledger.key());
    MessageQueue.create(Number(key));
    expect((await runPeer("msg_peer", ["send", key, "7", hex(new TextEncoder().encode("hello"))])).code).toBe(0);
    expect((await runPeer("msg_peer", ["send", key, "4242", hex(BINARY)])).code).toBe(0);
    expect((await run("msgrcv", ["--key", key, "--type", "7"])).stdout).toBe("read 5 bytes, type = 7: hello\n");
    const raw = await run("msgrcv", ["--key", key, "--type", "4242", "--raw"]);
    expect(raw.code).toBe(0);
    expect(new Uint8Array(raw.stdoutBytes)).toEqual(BINARY);
  });

  it("msgsnd reaches a C msgrcv with its type and every byte", async () => {
    const key = formatKey(ledger.key());
    MessageQueue.create(Number(key));
    const receiver = startPeer("msg_peer", ["recv", key, "99"]);
    await receiver.waitForLine("ready");
    expect((await run("msgsnd", ["--key", key, "--type", "5", "not for the C peer"])).code).toBe(0);
    expect((await run("msgsnd", ["--key", key, "--type", "99"], BINARY)).code).toBe(0);
    const result = await receiver.exited;
    expect(result.stdout).toBe(`ready\ntype=99 len=${BINARY.length} hex=${hex(BINARY)}\n`);
    expect((await run("msgrcv", ["--key", key, "--nowait"])).stdout).toBe("read 18 bytes, type = 5: not for the C peer\n");
  });

  it("100,000 messages from C through one queue reach msgrcv, none lost, in the order sent", async () => {
    const key = formatKey(ledger.key());
    MessageQueue.create(Number(key));
    const count = 100_000;
    const sender = startPeer("msg_peer", ["stream", key, String(count)]);
    const receiver = start("msgrcv", ["--key", key, "--count", String(count), "--raw"], { timeoutMs: 120_000 });
    receiver.closeStdin();
    const [sent, received] = await Promise.all([sender.exited, receiver.exited]);
    expect(sent.code).toBe(0);
    expect(received.stderr).toBe("");
    expect(received.code).toBe(0);
    const bytes = received.stdoutBytes;
    expect(bytes.length).toBe(8 * count);
    let wrong = 0;
    for (let i = 0; i < count; i++) {
      if (bytes.readUInt32LE(8 * i) !== i || bytes.readUInt32LE(8 * i + 4) !== 1 + (i % 3)) wrong++;
    }
    expect(wrong).toBe(0);
  }, 150_000);
});
