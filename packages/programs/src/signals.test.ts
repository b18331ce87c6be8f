// The pid a user sees is the program: a termination signal sent to it, or to the package manager
// that started it, runs the program's cleanup and leaves nothing running; a signal it was started
// with ignored stays ignored. Real signals, real pnpm, real shells.
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { processExit } from "@linux-ipc/core";
import { startCommand, startProgram, useTempDir, type RunningProgram } from "@linux-ipc/testing/vitest";

const program = fileURLToPath(new URL("../dist-fixtures/cli-program.js", import.meta.url));
const launcher = fileURLToPath(new URL("../../../run", import.meta.url));
const rootPackage = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { packageManager: string };
const dir = useTempDir("programs-signals-");

/** Programs started below the harness's children (by pnpm or a shell): ended after each test. */
const grandchildren = new Set<number>();
afterEach(() => {
  for (const pid of grandchildren) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone, as it should be
    }
  }
  grandchildren.clear();
});

/** The pid in the program's `waiting <pid>` line, once it has printed it. */
async function waitingPid(running: RunningProgram): Promise<number> {
  const pid = Number((await running.waitForLine(/^waiting \d+$/)).split(" ")[1]);
  grandchildren.add(pid);
  return pid;
}

let pnpmEntry: Promise<string> | null = null;

/**
 * The pnpm the repository pins, as a node script, so that the pid a test signals is pnpm's own:
 * the one running this test (`pnpm test` sets npm_execpath), else the one npx fetches, asked where
 * it lives.
 */
function pnpmScript(): Promise<string> {
  pnpmEntry ??= (async () => {
    const execPath = process.env.npm_execpath;
    if (execPath && /pnpm\.c?js$/.test(execPath)) return execPath;
    const probe = startCommand("npx", ["--yes", rootPackage.packageManager, "run", "where"], { cwd: packageWithScript() });
    const line = await probe.waitForLine(/^pnpm-at /, { timeoutMs: 60_000 });
    await probe.exited;
    return line.slice("pnpm-at ".length);
  })();
  return pnpmEntry;
}

/** A package whose `wait` script runs the program as the examples' scripts do: `exec node …`. */
function packageWithScript(): string {
  const scripts = { wait: `exec node "${program}" /etc/hostname --wait`, where: `node -e "console.log('pnpm-at ' + process.env.npm_execpath)"` };
  writeFileSync(dir.file("package.json"), JSON.stringify({ name: "signal-probe", private: true, scripts }));
  return dir.path;
}

describe("a program started directly", () => {
  it.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("runs its cleanup on %s sent to its pid, then dies of it", async (signal) => {
    const running = startProgram(program, ["/etc/hostname", "--wait"]);
    expect(await waitingPid(running)).toBe(running.pid);
    running.kill(signal);
    const result = await running.exited;
    expect(result.signal).toBe(signal);
    expect(result.stdout).toBe(`opened /etc/hostname\nwaiting ${running.pid}\ncleanup after ${signal}\n`);
  });
});

describe("a program started by its package script (exec node …)", () => {
  it.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("runs its cleanup and ends when %s is sent to pnpm's pid", async (signal) => {
    const manager = startCommand(process.execPath, [await pnpmScript(), "run", "wait"], { cwd: packageWithScript() });
    const pid = await waitingPid(manager);
    expect(pid).not.toBe(manager.pid);
    manager.kill(signal);
    // pnpm passes SIGINT and SIGTERM on; it dies of SIGHUP, and the kernel then hangs the program up.
    await manager.waitForLine(`cleanup after ${signal}`);
    await processExit(pid, { timeoutMs: 10_000, what: `the program (pid ${pid}) after ${signal} to pnpm` });
    expect((await manager.exited).code).not.toBe(0);
  });

  it.each(["SIGTERM", "SIGHUP", "SIGKILL"] as const)("runs its cleanup and ends when %s is sent to npx's pid (npx pnpm run …)", async (signal) => {
    const npx = startCommand("npx", ["--yes", rootPackage.packageManager, "run", "wait"], { cwd: packageWithScript() });
    const pid = await waitingPid(npx);
    npx.kill(signal);
    // npx passes SIGTERM on to its shell only, and dies of the others: the program sees a process of
    // its job end and hangs itself up.
    await npx.waitForLine("cleanup after SIGHUP");
    await processExit(pid, { timeoutMs: 10_000, what: `the program (pid ${pid}) after ${signal} to npx` });
  });
});

describe("a signal ignored when the program started (through the run launcher)", () => {
  it("stays ignored under nohup: SIGHUP does nothing, SIGTERM still cleans up", async () => {
    const running = startCommand("nohup", [launcher, program, "/etc/hostname", "--wait"]);
    expect(await waitingPid(running)).toBe(running.pid); // nohup and the launcher exec: one pid all along
    running.kill("SIGHUP");
    running.kill("SIGTERM");
    const result = await running.exited;
    expect(result.signal).toBe("SIGTERM");
    expect(result.stdout).toBe(`opened /etc/hostname\nwaiting ${running.pid}\ncleanup after SIGTERM\n`);
  });

  it("stays ignored for a background job of a script: SIGINT does nothing, SIGTERM still cleans up", async () => {
    const shell = startCommand("sh", ["-c", `"$0" "$@" & wait $!; echo "status $?"`, launcher, program, "/etc/hostname", "--wait"]);
    const pid = await waitingPid(shell);
    process.kill(pid, "SIGINT");
    process.kill(pid, "SIGTERM");
    await shell.waitForLine("status 143");
    expect(shell.lines()).toEqual(["opened /etc/hostname", `waiting ${pid}`, "cleanup after SIGTERM", "status 143"]);
  });

  it("is not ignored when the program is started without the launcher (Node resets it)", async () => {
    const shell = startCommand("sh", ["-c", `"$0" "$@" & wait $!; echo "status $?"`, process.execPath, program, "/etc/hostname", "--wait"]);
    const pid = await waitingPid(shell);
    process.kill(pid, "SIGINT");
    await shell.waitForLine("status 130");
    expect(shell.lines()).toContain("cleanup after SIGINT");
  });
});
