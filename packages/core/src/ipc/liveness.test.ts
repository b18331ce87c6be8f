import { afterAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { isProcessAlive, ownStartTime, processStartTime } from "./liveness.ts";
import { compileC, cSkipReason, removeCompiled, startCommand, startProgram } from "@linux-ipc/testing/vitest";

afterAll(removeCompiled);

describe("isProcessAlive", () => {
  it("sees this process alive, with the start time it records", () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(ownStartTime).toBeGreaterThan(0);
    expect(processStartTime(process.pid)).toBe(ownStartTime);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
  });

  it("sees a child alive until SIGKILL, and a pid with another start time as another process", async () => {
    const child = startProgram(fileURLToPath(new URL("../../dist-fixtures/idle.js", import.meta.url)));
    try {
      await child.waitForLine("ready");
      const started = processStartTime(child.pid)!;
      expect(isProcessAlive(child.pid, started)).toBe(true);
      expect(isProcessAlive(child.pid, started + 1)).toBe(false);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    expect(isProcessAlive(child.pid)).toBe(false);
    expect(processStartTime(child.pid)).toBeNull();
  });

  it.skipIf(cSkipReason() !== null)("sees a zombie (dead, not reaped) as dead, where kill(pid, 0) still succeeds", async () => {
    const source = `
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  /* Wait for the child to have exited without reaping it (WNOWAIT): only then is it a zombie. */
  siginfo_t info;
  if (waitid(P_PID, child, &info, WEXITED | WNOWAIT) != 0) { perror("waitid"); return 1; }
  printf("zombie %d\\n", (int) child);
  fflush(stdout);
  pause();
  return 0;
}`;
    const parent = startCommand(compileC("make-zombie", source));
    try {
      const pid = Number((await parent.waitForLine(/^zombie/)).split(" ")[1]);
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(isProcessAlive(pid)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
      await parent.exited;
    }
  });
});
