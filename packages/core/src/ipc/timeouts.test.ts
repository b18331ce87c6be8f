import { describe, expect, it } from "vitest";
import { MAX_TIMER_MS, sleep } from "./timeouts.ts";

describe("sleep", () => {
  it("refuses a delay Node's timers cannot wait (they would wait 1 ms instead)", async () => {
    await expect(sleep(MAX_TIMER_MS + 1)).rejects.toThrow(RangeError);
    await expect(sleep(-1)).rejects.toThrow(/sleep: -1 ms is not between 0 and 2147483647/);
    await expect(sleep(0)).resolves.toBeUndefined();
  });
});
