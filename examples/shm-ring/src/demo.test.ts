import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const demo = compiledProgram(import.meta.url, "demo");
const DEMO_KEYS = ["0x52444d31", "0x52444d32", "0x52444d33", "0x52444d34"];

describe("demo", () => {
  it("runs producers/consumers, the notify pair and lock-demo as separate processes, and leaves nothing behind", async () => {
    const result = await runProgram(demo, [], { timeoutMs: 120_000 });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("=== shm-ring: 2 producers, 2 consumers, two 4 KiB rings (shmfifo) ===");
    expect(lines.filter((line) => /^\[consumer [12]\] consumer: received 10000, lost 0, duplicated 0, corrupt 0 /.test(line))).toHaveLength(2);
    expect(lines.filter((line) => /^\[producer [12]\] producer \d+: sent 10000 messages/.test(line))).toHaveLength(2);
    expect(lines).toContain("=== shm-ring: notify-server/notify-client (P13/P14, woken by semaphores) ===");
    expect(lines).toContain("[server] ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    expect(lines.filter((line) => line.startsWith("[server] A"))).toHaveLength(26);
    expect(lines).toContain("=== shm-ring: lock-demo (semaphore lock), then lock-demo --unlocked ===");
    expect(lines).toContain("[lock-demo] lock-demo: 4000 replies checked with the semaphore lock, 0 corrupt");
    expect(lines.some((line) => /^\[lock-demo --unlocked\] lock-demo: 4000 replies checked without a lock, \d+ corrupt$/.test(line))).toBe(true);
    const ipcs = execFileSync("ipcs", ["-m", "-s"], { encoding: "utf8" });
    for (const key of DEMO_KEYS) expect(ipcs).not.toContain(key);
  }, 120_000);
});
