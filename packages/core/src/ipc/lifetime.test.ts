import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { signal, SIG_DFL, SIG_IGN } from "../libc/signal.ts";
import { processExit, watchProcessExit } from "./lifetime.ts";
import { startCommand } from "@linux-ipc/testing/vitest";

const exitWithParentFixture = fileURLToPath(new URL("../../dist-fixtures/exit-with-parent.js", import.meta.url));

describe("watchProcessExit", () => {
  it("calls back once the watched process has ended, and not before", async () => {
    const child = spawn("sh", ["-c", "read line"], { stdio: ["pipe", "ignore", "ignore"] });
    let ended = false;
    const exited = new Promise<void>((resolve) =>
      watchProcessExit(child.pid!, () => {
        ended = true;
        resolve();
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    child.stdin!.end("go\n");
    await exited;
    expect(ended).toBe(true);
  });

  it("calls back at once for a process that is already gone", async () => {
    const child = spawn("true");
    await once(child, "exit");
    await new Promise<void>((resolve) => watchProcessExit(child.pid!, resolve));
  });

  it("stops watching when asked, and does not keep the event loop alive", async () => {
    const child = spawn("sh", ["-c", "read line"], { stdio: ["pipe", "ignore", "ignore"] });
    let called = false;
    const stop = watchProcessExit(child.pid!, () => (called = true));
    stop();
    stop();
    child.stdin!.end("go\n");
    await once(child, "exit");
    await new Promise((resolve) => setImmediate(resolve));
    expect(called).toBe(false);
  });
});

describe("exitWithParent", () => {
  it("has the kernel signal the process when its parent dies, even of SIGKILL", async () => {
    const parent = startCommand("sh", ["-c", `"${process.execPath}" "${exitWithParentFixture}"; echo "the shell went on"`]);
    const pid = Number((await parent.waitForLine(/^ready \d+$/)).split(" ")[1]);
    const childGone = processExit(pid, { timeoutMs: 10_000, what: "the child whose parent was killed" });
    parent.kill("SIGKILL");
    await parent.waitForLine("SIGTERM after the parent ended");
    await childGone;
    expect(parent.stdout).not.toContain("the shell went on");
  });
});

describe("signal", () => {
  it("sets a signal's disposition to SIG_IGN or SIG_DFL and gives the previous one back", () => {
    // SIGWINCH: Node does not use it, and ignoring it changes nothing for the test runner.
    expect(signal(28, SIG_IGN)).toBe(SIG_DFL);
    expect(signal(28, SIG_DFL)).toBe(SIG_IGN);
    expect(() => signal(9, SIG_IGN)).toThrow(expect.objectContaining({ code: "EINVAL", syscall: "signal" }));
  });
});
