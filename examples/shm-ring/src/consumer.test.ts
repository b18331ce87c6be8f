import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { startProgram, runProgram, unusedIpcKey, type RunningProgram, compiledProgram } from "@linux-ipc/testing/vitest";
import { SharedMemorySegment, formatKey, Ring } from "@linux-ipc/core";

const consumer = compiledProgram(import.meta.url, "consumer");
const producer = compiledProgram(import.meta.url, "producer");

const programs: RunningProgram[] = [];
const keys: number[] = [];
afterEach(async () => {
  for (const program of programs.splice(0)) {
    program.kill("SIGKILL");
    await program.exited.catch(() => {});
  }
  for (const key of keys.splice(0)) {
    try {
      SharedMemorySegment.open(key).remove();
    } catch {
      // removed by the programs, as it should be
    }
  }
});

function start(script: string, args: string[], timeoutMs?: number): RunningProgram {
  const program = startProgram(script, args, timeoutMs === undefined ? {} : { timeoutMs });
  programs.push(program);
  return program;
}

function newKey(): string {
  const key = unusedIpcKey();
  keys.push(key);
  return formatKey(key);
}

function segmentExists(key: string): boolean {
  return execFileSync("ipcs", ["-m"], { encoding: "utf8" }).includes(key);
}

/** Whether `ipcs -s` lists a semaphore set with `key` (the programs know no other key). */
function semaphoreSetExists(key: string): boolean {
  return execFileSync("ipcs", ["-s"], { encoding: "utf8" }).includes(key);
}

/** Resolves once the consumer has taken at least one message out of the ring at `key` (its head moved). */
async function consumerHasStarted(key: string): Promise<void> {
  using attachment = SharedMemorySegment.open(Number(key)).attach({ readOnly: true });
  const ring = Ring.attach(attachment);
  const head = ring.head;
  while (ring.head === head) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe("producer and consumer", () => {
  it("carry 1,000,000 messages of mixed sizes through a 64 KiB ring: none lost, duplicated or corrupt", async () => {
    const key = newKey();
    const reader = start(consumer, ["--key", key, "--capacity", "65536"], 180_000);
    await reader.waitForLine("waiting");
    const started = performance.now();
    const writer = start(producer, ["--key", key, "--count", "1000000", "--size", "512"], 180_000);
    const sent = await writer.exited;
    const received = await reader.exited;
    const seconds = (performance.now() - started) / 1000;
    console.log(`1,000,000 messages through 64 KiB: ${seconds.toFixed(1)} s; ${received.stdout.trim().split("\n").pop()}`);
    expect(sent).toMatchObject({ code: 0, stderr: "" });
    expect(sent.stdout).toMatch(/^producer \d+: sent 1000000 messages \([\d.]+ MB\) to 1 ring\(s\) in [\d.]+ s\n$/);
    expect(received.stdout).toContain("consumer: received 1000000, lost 0, duplicated 0, corrupt 0");
    expect(received).toMatchObject({ code: 0, stderr: "" });
    expect(segmentExists(key)).toBe(false);
  }, 180_000);

  it("the producer notices a consumer killed with SIGKILL mid-stream, removes its segment and exits 1 with one line", async () => {
    const key = newKey();
    const reader = start(consumer, ["--key", key]);
    await reader.waitForLine("waiting");
    const writer = start(producer, ["--key", key, "--count", "100000000"]);
    await consumerHasStarted(key);
    const killedAt = performance.now();
    reader.kill("SIGKILL");
    const result = await writer.exited;
    console.log(`producer exited ${(performance.now() - killedAt).toFixed(0)} ms after the consumer was killed`);
    expect((await reader.exited).signal).toBe("SIGKILL");
    expect(result.stderr).toBe(`producer: the consumer (pid ${reader.pid}) died; segment ${key} removed\n`);
    expect(result.code).toBe(1);
    expect(segmentExists(key)).toBe(false);
    // Only this key: the whole listing changes as other tests, run at the same time, create and remove sets.
    expect(semaphoreSetExists(key)).toBe(false);
  });

  it("the consumer reports a producer that died, and removes its segment", async () => {
    const key = newKey();
    const reader = start(consumer, ["--key", key]);
    await reader.waitForLine("waiting");
    const writer = start(producer, ["--key", key, "--count", "100000000"]);
    await consumerHasStarted(key);
    writer.kill("SIGKILL");
    const result = await reader.exited;
    expect(result.stdout).toMatch(/^consumer: received \d+, lost 0, duplicated 0, corrupt 0/m);
    expect(result.stderr).toBe(`consumer: the producer (pid ${writer.pid}) died without closing the ring; segment ${key} removed\n`);
    expect(result.code).toBe(1);
    expect(segmentExists(key)).toBe(false);
  });

  it("the consumer removes its segment on SIGINT while it waits, and a waiting producer is told it closed", async () => {
    const key = newKey();
    const reader = start(consumer, ["--key", key, "--capacity", "4096"]);
    await reader.waitForLine("waiting");
    reader.child.kill("SIGSTOP");
    // More messages than it could ever send: after SIGCONT the consumer may read a while before its
    // SIGINT handler runs, and a producer that finished meanwhile would never hear of the close.
    const writer = start(producer, ["--key", key, "--count", "100000000"]);
    const attachment = SharedMemorySegment.open(Number(key)).attach({ readOnly: true });
    try {
      const ring = Ring.attach(attachment);
      while (ring.used < 3000) await new Promise((resolve) => setTimeout(resolve, 2));
    } finally {
      attachment.detach();
    }
    reader.kill("SIGINT");
    reader.child.kill("SIGCONT");
    expect((await reader.exited).signal).toBe("SIGINT");
    const result = await writer.exited;
    expect(result.stderr).toBe(`producer: the consumer (pid ${reader.pid}) closed the ring; segment ${key} removed\n`);
    expect(segmentExists(key)).toBe(false);
  });

  it("lets two producers share a ring and two consumers share the messages (two rings, dealt in turn)", async () => {
    const [first, second] = [newKey(), newKey()];
    const readers = [first, second].map((key) => start(consumer, ["--key", key!, "--producers", "2", "--capacity", "2048"]));
    for (const reader of readers) await reader.waitForLine("waiting");
    const writers = [1, 2].map((n) => start(producer, ["--key", `${first},${second}`, "--count", String(20000 + n), "--size", "300"]));
    for (const writer of writers) expect((await writer.exited).code).toBe(0);
    const reports = await Promise.all(readers.map((reader) => reader.exited));
    expect(reports.map((report) => report.stdout.split("\n")[1])).toEqual([
      expect.stringMatching(/^consumer: received 20002, lost 0, duplicated 0, corrupt 0 /),
      expect.stringMatching(/^consumer: received 20001, lost 0, duplicated 0, corrupt 0 /),
    ]);
  });
});

describe("bad input", () => {
  it("says what is wrong in one line and exits 1", async () => {
    const key = newKey();
    expect(await runProgram(producer, ["--key", key])).toMatchObject({
      code: 1,
      stderr: `producer: no ring at key ${key}: start the consumer first, with the same --key\n`,
    });
    const badKey = await runProgram(producer, ["--key", "12,zz"]);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr.split("\n")[0]).toBe("producer: --key must be an integer in decimal or 0x hex, not 'zz'");
    expect((await runProgram(producer, ["--size", "8"])).stderr.split("\n")[0]).toBe("producer: --size must be at least 24, not 8");
    expect(await runProgram(consumer, ["--key", key, "--capacity", "1000"])).toMatchObject({ code: 1, stderr: "consumer: --capacity 1000 is not a power of two\n" });
    const reader = start(consumer, ["--key", key, "--capacity", "1024"]);
    await reader.waitForLine("waiting");
    expect(await runProgram(producer, ["--key", key, "--size", "2000"])).toMatchObject({
      code: 1,
      stderr: `producer: --size 2000 does not fit in the ring at key ${key}: its messages are at most 1016 bytes\n`,
    });
    const again = await runProgram(consumer, ["--key", key]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(
        `^consumer: a segment with key ${key} exists already \\(id \\d+\\) and is in use or not yours: end the program using it, or use another --key \\(if nothing uses it: ipcrm -m \\d+\\)\n$`,
      ),
    );
    reader.kill("SIGINT");
    await reader.exited;
  });

  it("prints help and exits 0", async () => {
    const help = await runProgram(producer, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: producer [--key K[,K…]] [--count N] [--size BYTES]");
  });
});
