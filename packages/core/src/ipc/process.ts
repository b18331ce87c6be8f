/**
 * Related processes without fork(). V8 marks its heap MADV_DONTFORK, so a child made by calling
 * libc fork() through koffi dies with SIGSEGV at once. Instead a parent spawns a fresh program that
 * inherits chosen descriptors, which is what fork()+exec() with inherited fds gives in C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** Options of `spawnWithFds`: those of `child_process.spawn`, with `fds` and a simpler `stdio`. */
export interface SpawnWithFdsOptions extends Omit<SpawnOptions, "stdio"> {
  /** Descriptors of this process the child receives as its fds 3, 4, 5… in this order. */
  fds?: number[];
  /** The child's stdin, stdout and stderr (default: inherit all three). */
  stdio?: "inherit" | "pipe" | [StdioEntry, StdioEntry, StdioEntry];
  /**
   * Node flags placed before the script (default: none, so `script` must be JavaScript). Running a
   * .ts file is the caller's choice: `["--import", "tsx"]` with tsx installed, or
   * `["--experimental-strip-types"]` on a Node that has it.
   */
  execArgv?: string[];
}

/** One of the child's standard streams: inherited, a pipe, ignored, or one of this process's descriptors. */
export type StdioEntry = "inherit" | "pipe" | "ignore" | number;

/**
 * Starts `script` (a JavaScript file) in a new node process, with this process's node binary. The child finds `fds[i]` at descriptor
 * `3 + i`, whatever its number here, and reads that number from the env var IPC_INHERITED_FDS too.
 * The parent keeps its own copies: close them if the child must be the only holder (a pipe's reader
 * sees end of file only when every write end is closed).
 */
export function spawnWithFds(script: string, args: string[] = [], options: SpawnWithFdsOptions = {}): ChildProcess {
  const { fds = [], stdio = "inherit", env, execArgv = [], ...rest } = options;
  const standard: StdioEntry[] = typeof stdio === "string" ? [stdio, stdio, stdio] : stdio;
  return spawn(process.execPath, [...execArgv, script, ...args], {
    ...rest,
    env: { ...(env ?? process.env), ...inheritedFdsEnv(fds) },
    stdio: [...standard, ...fds],
  });
}

/** The environment entry telling a child which descriptors (3, 4, …) it inherited, for `inheritedFds()`. */
export function inheritedFdsEnv(fds: readonly number[]): { IPC_INHERITED_FDS?: string } {
  return fds.length === 0 ? {} : { IPC_INHERITED_FDS: fds.map((_, index) => String(3 + index)).join(",") };
}

/** In a child started by spawnWithFds: the descriptors it inherited, in order. */
export function inheritedFds(): number[] {
  const value = process.env.IPC_INHERITED_FDS;
  if (!value) return [];
  return value.split(",").map(Number);
}

/** Resolves with the child's exit code and signal once it has been reaped. */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
  }
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}
