import { describe, expect, it } from "vitest";
import { MessageQueue, formatKey } from "@linux-ipc/core";
import { ipcsQueueKeys, queueLedger, run, sleepingIn, start } from "./test-support.ts";
import { REQUEST_TYPE, parseRequest, reply } from "./mpx.ts";

const ledger = queueLedger();

describe("server and client over one System V queue", () => {
  it("serves several clients at once, each getting only its own replies, and removes the queue at the end", async () => {
    const key = formatKey(ledger.key());
    const clients = 5;
    const requests = 20;
    const server = start("server", ["--key", key, "--requests", String(clients * requests)]);
    await server.waitForLine("waiting for requests");
    const running = Array.from({ length: clients }, (_, i) => start("client", ["--key", key, "--requests", String(requests), `client ${i} `.repeat(i + 1)]));
    const results = await Promise.all(running.map((client) => client.exited));
    for (const [i, result] of results.entries()) {
      expect(result.stderr, `client ${i}`).toBe("");
      expect(result.code, `client ${i}`).toBe(0);
      const pid = running[i]!.pid;
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(requests);
      lines.forEach((line, n) => {
        const body = `request ${n + 1} of pid ${pid}: ${`client ${i} `.repeat(i + 1)}`;
        expect(line).toBe(`pid ${pid}: reply to request ${n + 1}: ${reply(new TextEncoder().encode(body))} (checked)`);
      });
    }
    const served = await server.exited;
    expect(served.code).toBe(0);
    const pids = served.stdout
      .split("\n")
      .filter((line) => line.startsWith("request from pid"))
      .map((line) => Number(/pid (\d+)/.exec(line)![1]));
    expect(pids).toHaveLength(clients * requests);
    for (const client of running) expect(pids.filter((pid) => pid === client.pid)).toHaveLength(requests);
    expect(ipcsQueueKeys()).not.toContain(Number(key) | 0);
  });

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`removes its queue on ${signal} and ends by that signal; a receiver waiting on it fails with 'Identifier removed'`, async () => {
      const key = formatKey(ledger.key());
      const server = start("server", ["--key", key]);
      await server.waitForLine("waiting for requests");
      // Waits on the server's queue for a type no reply has, as a client waits for its reply.
      const waiting = start("msgrcv", ["--key", key, "--type", "999999"]);
      await sleepingIn(waiting.pid, "msgrcv");
      server.kill(signal);
      const result = await server.exited;
      expect(result.signal).toBe(signal);
      expect(result.stderr).toBe("");
      expect(ipcsQueueKeys()).not.toContain(Number(key) | 0);
      const waited = await waiting.exited;
      expect(waited.code).toBe(1);
      expect(waited.stderr).toMatch(/^msgrcv: msgrcv 'id \d+': Identifier removed\n$/);
    });
  }

  it("a client that gets a reply meant for someone else says so and exits with code 2", async () => {
    const key = ledger.key();
    const queue = MessageQueue.create(key);
    const client = start("client", ["--key", formatKey(key), "mine"]);
    const request = parseRequest((await queue.receiveAsync({ type: REQUEST_TYPE, timeoutMs: 15_000 })).bytes)!;
    expect(request.pid).toBe(client.pid);
    queue.send(reply(new TextEncoder().encode("someone else's request")), { type: client.pid });
    const result = await client.exited;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^client: reply '\d+ [0-9a-f]{64}' to request 1 does not match what was sent \(expected '\d+ [0-9a-f]{64}'\)\n$/);
  });

  it("refuses a second server on the same key, and a client without a server, in one line", async () => {
    const key = formatKey(ledger.key());
    const server = start("server", ["--key", key]);
    await server.waitForLine("waiting for requests");
    const second = await run("server", ["--key", key]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`^server: msgget 'key ${key}': File exists \\(a queue with this key exists already: another server is running, or one was killed; if none runs: ipcrm -q \\d+\\)\\n$`),
    );
    server.kill("SIGTERM");
    await server.exited;
    const orphan = await run("client", ["--key", key]);
    expect(orphan.code).toBe(1);
    expect(orphan.stderr).toBe(`client: msgget 'key ${key}': No such file or directory (no queue has this key: start the server first, with the same --key or --path)\n`);
  });
});
