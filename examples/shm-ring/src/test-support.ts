/** Waits the tests of this package share: each polls state or watches a pid, with a timeout that names what it awaited. */
import { watchProcessExit } from "@linux-ipc/core";

/** Resolves once `check` returns a value other than undefined, polled each millisecond; rejects after `timeoutMs` naming `what`. */
export async function until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Resolves once process `pid` has ended; rejects after `timeoutMs`, naming `what`. */
export function exitWithin(pid: number, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (pid ${pid}) to end`));
    }, timeoutMs);
    const stop = watchProcessExit(pid, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
