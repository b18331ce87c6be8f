import { describe, expect, it } from "vitest";
import { formatKey } from "@linux-ipc/core";
import { ipcsQueueKeys, posixQueueExists, queueLedger, run } from "./test-support.ts";

const ledger = queueLedger();

const PROGRAMS = ["msgcreate", "msgsnd", "msgrcv", "msgrmid", "msgstat", "mqcreate", "mqsend", "mqreceive", "mqgetattr", "mqnotify", "mqunlink", "server", "client", "demo"];

describe("demo", () => {
  it("runs every program as a separate process, shows what each printed, and leaves no queue", async () => {
    const key = formatKey(ledger.key());
    const serverKey = formatKey(ledger.key());
    const name = ledger.name();
    const result = await run("demo", ["--key", key, "--server-key", serverKey, "--name", name]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines).toContain("[msgrcv] read 11 bytes, type = 200: two hundred");
    expect(lines).toContain("[msgrcv] read 11 bytes, type = 100: one hundred");
    expect(lines).toContain("[mqreceive] read 4 bytes, priority = 9: high");
    expect(lines).toContain("[mqnotify] read 7 bytes, priority = 3: wake up");
    expect(lines.filter((line) => /^\[client\] pid \d+: reply to request \d: \d+ [0-9a-f]{64} \(checked\)$/.test(line))).toHaveLength(6);
    // The failures it shows on purpose: msgrcv --nowait on the empty queue, mqreceive's timeout.
    expect(result.stderr).toBe(
      `[msgrcv] msgrcv: msgrcv 'id ${/msqid = (\d+)/.exec(result.stdout)![1]}': No message of desired type\n[mqreceive] mqreceive: mq_receive '${name}': timed out after 200 ms\n`,
    );
    expect(ipcsQueueKeys().filter((k) => k === (Number(key) | 0) || k === (Number(serverKey) | 0))).toEqual([]);
    expect(posixQueueExists(name)).toBe(false);
  }, 120_000); // 27 program runs one after another: on a busy machine well past the default 30 s
});

describe("--help", () => {
  it.each(PROGRAMS)("%s prints its usage and exits 0", async (program) => {
    const result = await run(program, ["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: ${program}\\b`));
    expect(result.stderr).toBe("");
  });
});
