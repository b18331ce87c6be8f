// The pid a user sees is the program: a termination signal sent to it, or to the package manager
// that started it, runs the program's cleanup and leaves nothing running; a signal it was started
// with ignored stays ignored. Real signals, real pnpm, real shells.
import { afterEach, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { childPids, processExit } from "@linux-ipc/core";
import { startCommand, startProgram, useTempDir, type RunningProgram } from "@linux-ipc/testing/vitest";

const program = fileURLToPath(new URL("../dist-fixtures/cli-program.js", import.meta.url));
const launcher = fileURLToPath(new URL("../../../run", import.meta.url));
const rootPackage = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { packageManager: string };
const dir = useTempDir("programs-signals-");

/**
 * How long a start-up may take (node; pnpm or npx before it): a minute, on a loaded machine where npx
 * alone took over 15 s. Each test's time limit leaves room for its start-ups and its other waits, so
 * a wait that runs out says what it awaited.
 */
const STARTUP_MS = 60_000;

/** Programs started below the harness's children (by pnpm or a shell), as their `waiting` lines name them. */
const grandchildren = new Set<number>();

/** The children of process `pid`; none once it is gone. */
function childrenOf(pid: number): number[] {
  try {
    return childPids(pid);
  } catch {
    return [];
  }
}

/**
 * Ends, after each test, every process this file started and everything below them: npx, its shell,
 * pnpm and the program. A test that failed may have left a job half-started: npx ended by the
 * harness's SIGTERM (it passes it to its shell only) left pnpm running, and the program that pnpm
 * started later waited for ever under it, its pid never printed in time for this file to know it.
 * Each process is stopped (SIGSTOP) as it is found, so none can start another meanwhile, and the
 * children are looked for again until no new one turns up; then all are killed. (This hook runs
 * before the harness's, registered earlier: vitest runs after-hooks last registered first. The
 * harness's SIGTERM to npx would leave pnpm running outside npx's tree.)
 */
afterEach(() => {
  const found = new Set<number>();
  for (let next = [...childrenOf(process.pid), ...grandchildren]; next.length > 0; next = [...found].flatMap(childrenOf).filter((pid) => !found.has(pid))) {
    for (const pid of next) {
      found.add(pid);
      signalIfAlive(pid, "SIGSTOP");
    }
  }
  for (const pid of found) signalIfAlive(pid, "SIGKILL");
  grandchildren.clear();
});

function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone, as it should be
  }
}

/** The pid in the program's `waiting <pid>` line, printed once it has started. */
async function waitingPid(running: RunningProgram): Promise<number> {
  const pid = Number((await running.waitForLine(/^waiting \d+$/, { timeoutMs: STARTUP_MS })).split(" ")[1]);
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
    const line = await probe.waitForLine(/^pnpm-at /, { timeoutMs: STARTUP_MS });
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

describe("a program started directly", { timeout: 2 * STARTUP_MS }, () => {
  it.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("runs its cleanup on %s sent to its pid, then dies of it", async (signal) => {
    const running = startProgram(program, ["/etc/hostname", "--wait"]);
    expect(await waitingPid(running)).toBe(running.pid);
    running.kill(signal);
    const result = await running.exited;
    expect(result.signal).toBe(signal);
    expect(result.stdout).toBe(`opened /etc/hostname\nwaiting ${running.pid}\ncleanup after ${signal}\n`);
  });
});

describe("a program started by its package script (exec node …)", { timeout: 3 * STARTUP_MS }, () => {
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

describe("a signal ignored when the program started (through the run launcher)", { timeout: 2 * STARTUP_MS }, () => {
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
