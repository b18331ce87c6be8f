import { describe, expect, it } from "vitest";
import { mmap } from "./mapping.ts";
import { MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE } from "../libc/sys/mman.ts";
import { Ring } from "./ring.ts";
import { RingHeader, WORD } from "./ring_layout.ts";
import { Waiter } from "./ring_waiting.ts";
import { WaitTimeoutError } from "./timeouts.ts";

describe("a ring waiter's spin", () => {
  it("stops spinning after three spins in a row that saw nothing move, as on a CPU shared with the peer, and spins again once one does", () => {
    using memory = mmap(Ring.bytesNeeded(256), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    Ring.create(memory, { capacity: 256 });
    const header = new RingHeader(memory, 0);
    const waiter = new Waiter(header, {}, WORD.dataWaiters, WORD.dataSeq, () => []);
    let checks = 0;
    let movesAt = Number.POSITIVE_INFINITY;
    // Counts the checks a wait makes: a spin makes at least 64 before it first looks at the clock.
    const moved = (): boolean => ++checks >= movesAt;
    const checksOfAWait = (): number => {
      checks = 0;
      expect(() => waiter.wait(moved, () => {}, "a move that does not come", { timeoutMs: 1 })).toThrow(WaitTimeoutError);
      return checks;
    };
    const spun = [checksOfAWait(), checksOfAWait(), checksOfAWait()];
    for (const count of spun) expect(count).toBeGreaterThanOrEqual(64);
    // The next eight waits only glance (a few checks) before they sleep.
    for (let i = 0; i < 8; i++) expect(checksOfAWait()).toBeLessThan(64);
    // A tuned spin is spun as asked, whatever the history.
    const tuned = new Waiter(header, { spinMicros: 50 }, WORD.dataWaiters, WORD.dataSeq, () => []);
    for (let i = 0; i < 4; i++) {
      checks = 0;
      expect(() => tuned.wait(moved, () => {}, "a move that does not come", { timeoutMs: 1 })).toThrow(WaitTimeoutError);
      expect(checks).toBeGreaterThanOrEqual(64);
    }
    // After them, a wait spins again, and a spin that sees a move makes spinning the rule again.
    checks = 0;
    movesAt = 100;
    waiter.wait(moved, () => {}, "a move within the spin", { timeoutMs: 1_000 });
    expect(checks).toBe(100);
    movesAt = Number.POSITIVE_INFINITY;
    expect(checksOfAWait()).toBeGreaterThanOrEqual(64);
  });
});
