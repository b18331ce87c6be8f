import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { kernelWait, waitUntilBlocked, openDescriptors, childPids } from "./procfs.ts";
import { close, pipe2 } from "../libc/unistd.ts";
import { waitForExit } from "./process.ts";
import { startCommand } from "@linux-ipc/testing/vitest";

describe("kernelWait and waitUntilBlocked", () => {
  it("sees this process running and a shell's read blocked in read()", async () => {
    // Running: it is in the read() of /proc/PID/syscall itself.
    expect(kernelWait(process.pid)).toMatchObject({ state: "R", syscall: "read" });
    const shell = startCommand("sh", ["-c", 'read line; echo "got $line"']);
    try {
      const blocked = await waitUntilBlocked(shell.pid, ["read"]);
      expect(blocked.state).toBe("S");
      expect(blocked.syscall).toBe("read");
      shell.write("go\n");
      expect(await shell.exited).toMatchObject({ code: 0, stdout: "got go\n" });
    } finally {
      shell.kill();
    }
  });

  it("rejects when the process ends without blocking there", async () => {
    const shell = startCommand("sh", ["-c", "exit 0"]);
    const pid = shell.pid;
    await shell.exited;
    expect(kernelWait(pid)).toBeNull();
    await expect(waitUntilBlocked(pid, ["write"])).rejects.toThrow(`process ${pid} ended before it blocked in write()`);
  });
});

describe("openDescriptors and childPids", () => {
  it("lists the ends of a new pipe until they are closed", () => {
    const before = openDescriptors();
    const [readEnd, writeEnd] = pipe2();
    const during = openDescriptors();
    expect(during.filter((line) => !before.includes(line))).toEqual([
      expect.stringMatching(new RegExp(`^${Math.min(readEnd, writeEnd)} -> pipe:\\[\\d+\\]$`)),
      expect.stringMatching(new RegExp(`^${Math.max(readEnd, writeEnd)} -> pipe:\\[\\d+\\]$`)),
    ]);
    close(readEnd);
    close(writeEnd);
    expect(openDescriptors()).toEqual(before);
  });

  it("finds a child of this process, and another process's descriptors", async () => {
    const child = spawn("sleep", ["30"], { stdio: ["ignore", "ignore", "ignore"] });
    try {
      expect(childPids(process.pid)).toContain(child.pid);
      expect(openDescriptors(child.pid!).slice(0, 3)).toEqual(["0 -> /dev/null", "1 -> /dev/null", "2 -> /dev/null"]);
    } finally {
      child.kill();
      await waitForExit(child);
    }
  });
});
