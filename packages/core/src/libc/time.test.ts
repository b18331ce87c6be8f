import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { CLOCK_MONOTONIC, Deadline, Timespec, clockGettime, deadlineTimespec, timer_create, timer_delete, timer_settime, timespecFromMs } from "./time.ts";
import { WaitTimeoutError } from "../ipc/timeouts.ts";
import { compileC, cSkipReason, removeCompiled } from "@linux-ipc/testing/vitest";
import { constants } from "node:os";
import { gettid, sigeventForThread } from "./signal.ts";

afterAll(removeCompiled);

describe("timeouts", () => {
  it("turns milliseconds into a timespec, and a deadline into an absolute one", () => {
    expect(timespecFromMs(1500.5)).toEqual({ tv_sec: 1, tv_nsec: 500_500_000 });
    expect(timespecFromMs(-3)).toEqual({ tv_sec: 0, tv_nsec: 0 });
    const now = clockGettime(CLOCK_MONOTONIC);
    const later = deadlineTimespec(CLOCK_MONOTONIC, 2000);
    expect(later.tv_nsec).toBeLessThan(1e9);
    expect(later.tv_sec * 1e9 + later.tv_nsec - (now.tv_sec * 1e9 + now.tv_nsec)).toBeGreaterThanOrEqual(2000e6);
  });

  it("gives slices no longer than the time left, and refuses a negative timeout", () => {
    const none = new Deadline(undefined);
    expect(none.remaining()).toBe(Infinity);
    expect(none.slice(100)).toBe(100);
    expect(none.expired).toBe(false);
    const zero = new Deadline(0);
    expect(zero.expired).toBe(true);
    expect(zero.slice(100)).toBe(0);
    expect(() => new Deadline(-1)).toThrow(RangeError);
    expect(new WaitTimeoutError("waiting for x", 5)).toMatchObject({ code: "ETIMEDOUT", message: "waiting for x: timed out after 5 ms" });
  });

  it.skipIf(cSkipReason() !== null)("lays out struct timespec as C does", () => {
    const source = `#include <stdio.h>
#include <stddef.h>
#include <time.h>
int main(void) { printf("%zu %zu %zu\\n", sizeof(struct timespec), offsetof(struct timespec, tv_sec), offsetof(struct timespec, tv_nsec)); return 0; }`;
    expect(execFileSync(compileC("timespec", source), { encoding: "utf8" })).toBe(`${Timespec.size} ${Timespec.offsets.tv_sec} ${Timespec.offsets.tv_nsec}\n`);
  });
});

describe("timer_create, timer_settime, timer_delete", () => {
  it("signals the thread named in a SIGEV_THREAD_ID sigevent when the timer expires", async () => {
    const fired = new Promise<void>((resolve) => process.once("SIGUSR2", () => resolve()));
    const timer = timer_create(CLOCK_MONOTONIC, sigeventForThread(constants.signals.SIGUSR2, gettid()));
    try {
      timer_settime(timer, 1);
      await fired;
    } finally {
      timer_delete(timer);
    }
    expect(() => timer_delete(timer)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "timer_delete" }));
  });
});
