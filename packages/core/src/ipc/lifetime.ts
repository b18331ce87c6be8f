/**
 * A process that must not outlive another. A program started by a package manager runs under it
 * (npx → pnpm → the program): a user who signals the pid they see may hit the manager, which
 * forwards some signals and dies of others, and the program must then not run on as an orphan,
 * still holding its IPC objects. Both tools here tell the program when a process it depends on has
 * ended; what it does then is its own choice.
 */
import { constants } from "node:os";
import { koffi } from "../ffi/libc.ts";
import { close } from "../libc/unistd.ts";
import { prctl, PR_SET_PDEATHSIG } from "../libc/sys/prctl.ts";
import { pidfd_open } from "../libc/sys/pidfd.ts";
import { isSystemError } from "../libc/errno.ts";
import { WaitTimeoutError } from "./timeouts.ts";

/**
 * Calls `onExit` once process `pid` has ended: a pidfd polled by libuv, so no thread and no timer,
 * and the watch does not keep the event loop alive. If `pid` is already gone, `onExit` runs on the
 * next turn of the loop. Returns a function that stops watching (idempotent).
 */
export function watchProcessExit(pid: number, onExit: () => void): () => void {
  let fd: number;
  try {
    fd = pidfd_open(pid);
  } catch (error) {
    if (!isSystemError(error, "ESRCH")) throw error;
    const immediate = setImmediate(onExit);
    return () => clearImmediate(immediate);
  }
  let handle: ReturnType<typeof koffi.node.poll> | null = koffi.node.poll(fd, { readable: true }, () => {
    stop();
    onExit();
  });
  handle.unref();
  const stop = (): void => {
    if (handle === null) return;
    handle.close();
    handle = null;
    close(fd);
  };
  return stop;
}

/** Options of `processExit`. */
export interface ProcessExitOptions {
  /** Gives up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Names the process in the timeout's message (default: `process <pid>`). */
  what?: string;
}

/**
 * Resolves once process `pid` has ended (watched as `watchProcessExit` does). With `timeoutMs`,
 * rejects with a WaitTimeoutError if it is still running then, and stops watching.
 */
export function processExit(pid: number, options: ProcessExitOptions = {}): Promise<void> {
  const { timeoutMs, what = `process ${pid}` } = options;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = watchProcessExit(pid, () => {
      clearTimeout(timer);
      resolve();
    });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        stop();
        reject(new WaitTimeoutError(`waiting for ${what} to end`, timeoutMs));
      }, timeoutMs);
    }
  });
}

/**
 * Asks the kernel to send `signal` to this process when its parent ends (`PR_SET_PDEATHSIG`), which
 * works even while this thread is blocked in a system call. A parent that ended before the request
 * cannot be caught that way: if this process is already an orphan (its parent is init), `signal` is
 * sent at once.
 */
export function exitWithParent(signal: NodeJS.Signals = "SIGHUP"): void {
  prctl(PR_SET_PDEATHSIG, constants.signals[signal]);
  if (process.ppid === 1) process.kill(process.pid, signal);
}
