/**
 * How a program ends on a signal, as a C program would, although Node sits in between.
 *
 * - Node resets every ignored signal to its default action at start-up, so `nohup node prog.js`
 *   dies of SIGHUP and a background job of a script dies of SIGINT, where the C program would carry
 *   on. The `run` launcher at the top of the repository records the signals ignored when it started
 *   (the SigIgn mask of /proc/self/status) in LINUX_IPC_IGNORED_SIGNALS and then becomes node
 *   (exec: same pid); `keepSignalsIgnoredAtStart` ignores them again.
 * - A program run by a package script (`exec node dist/x.js`) is a child of pnpm, itself under npx.
 *   pnpm forwards SIGINT and SIGTERM but dies of SIGHUP; npx forwards to its shell only. So a
 *   program started that way ends, by SIGHUP, when its parent ends (`PR_SET_PDEATHSIG`) or any
 *   other process of its job between it and the user's shell does (a pidfd on each): a signal sent
 *   to any pid of the job reaches the program, and none is left running as an orphan.
 */
import { constants } from "node:os";
import { exitWithParent, processFamily, signal, SIG_IGN, watchProcessExit } from "@linux-ipc/core";

const TERMINATION_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Set by a program for the programs it starts (the demos' sides): `runMain` then has the child end,
 * by SIGHUP, when its parent does, so a demo killed half-way leaves no side running.
 */
export const END_WITH_PARENT_ENV = "LINUX_IPC_END_WITH_PARENT";

/**
 * The environment for a child program that must end with this one: `env` (default: this process's)
 * with END_WITH_PARENT_ENV set, so the child's `runMain` asks the kernel for SIGHUP when its parent
 * dies (`PR_SET_PDEATHSIG`, and at once if the parent is already gone). A child killed that way does
 * not spin on or hold IPC objects after its parent was killed with SIGKILL.
 */
export function endingWithParent(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, [END_WITH_PARENT_ENV]: "1" };
}

/** The variable in which the `run` launcher records the signals ignored when it started. */
export const IGNORED_SIGNALS_ENV = "LINUX_IPC_IGNORED_SIGNALS";

let ignoredAtStart: ReadonlySet<NodeJS.Signals> | null = null;

/**
 * The termination signals (SIGINT, SIGTERM, SIGHUP) this program was started with ignored, as the
 * `run` launcher recorded them; empty when it was started otherwise (Node cannot tell).
 */
export function signalsIgnoredAtStart(): ReadonlySet<NodeJS.Signals> {
  if (ignoredAtStart === null) {
    const mask = BigInt(`0x${process.env[IGNORED_SIGNALS_ENV] || "0"}`);
    ignoredAtStart = new Set(TERMINATION_SIGNALS.filter((name) => (mask >> BigInt(constants.signals[name] - 1)) & 1n));
  }
  return ignoredAtStart;
}

/**
 * Ignores again the termination signals that were ignored when this program started (see
 * `signalsIgnoredAtStart`), and removes the record so that programs this one starts do not inherit
 * it: Node starts its children with every signal at its default, as it is itself started.
 */
export function keepSignalsIgnoredAtStart(): void {
  for (const name of signalsIgnoredAtStart()) signal(constants.signals[name], SIG_IGN);
  delete process.env[IGNORED_SIGNALS_ENV];
}

/**
 * For a program started by a package manager: ends it with SIGHUP (so its cleanup runs) when its
 * parent ends, or when any process of its job above it does: every ancestor in the same process
 * group, up to the user's shell, which leads a group of its own.
 */
export function endWithPackageManager(): void {
  exitWithParent("SIGHUP");
  const hangUp = (): void => {
    process.kill(process.pid, "SIGHUP");
  };
  const group = processFamily("self")?.pgrp;
  for (let pid = process.ppid; pid > 1; ) {
    const family = processFamily(pid);
    if (family === null || family.pgrp !== group) break;
    watchProcessExit(pid, hangUp);
    pid = family.ppid;
  }
}

/**
 * Resolves once the listeners of the signals that have come so far have run: libuv reads signals
 * when it polls for I/O, which the check phase of the current turn of the event loop may not follow
 * (code that runs from an I/O callback, as an ES module's top level does, is past its turn's poll),
 * so this waits for the check phase of the next turn.
 */
export function afterSignalListeners(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Runs `cleanup` on SIGINT, SIGTERM or SIGHUP, then ends the process by the same signal (default
 * disposition restored and the signal raised again), so the parent sees how it ended, as with a C
 * program. A second signal arriving while cleanup runs is ignored rather than allowed to kill the
 * process half-way through it. A signal the program was started with ignored (under `nohup`, or as
 * a background job of a script, through the `run` launcher) stays ignored. Returns a function that
 * removes the handlers once the signals that have come are handled (`afterSignalListeners`): a
 * signal that ended a sync wait of core with EINTR still awaits its listener while the error unwinds
 * through the `finally` blocks where programs stop handling signals.
 */
export function onTerminationSignal(cleanup: (signal: NodeJS.Signals) => void): () => void {
  const signals = TERMINATION_SIGNALS.filter((name) => !signalsIgnoredAtStart().has(name));
  let cleaning = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (cleaning) return;
    cleaning = true;
    try {
      cleanup(signal);
    } finally {
      remove();
      process.kill(process.pid, signal);
    }
  };
  const remove = (): void => {
    for (const signal of signals) process.off(signal, handler);
  };
  for (const signal of signals) process.on(signal, handler);
  return () => void afterSignalListeners().then(remove);
}
