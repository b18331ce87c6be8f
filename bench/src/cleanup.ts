/**
 * Everything the bench creates outside its own memory (peer processes, FIFOs, sockets, temp files,
 * shared memory segments) is registered here the moment it exists, and released in reverse order:
 * when its measure ends, when the run ends or fails, and on Ctrl-C / SIGTERM / SIGHUP (after which
 * the process ends by that signal, as a C program would).
 */
import { onTerminationSignal } from "@linux-ipc/programs";

type Release = () => void;

const pending: Release[] = [];

/** Registers `release` and returns a function that runs it now (once) and unregisters it. */
export function track(release: Release): Release {
  let done = false;
  const once: Release = () => {
    if (done) return;
    done = true;
    const index = pending.indexOf(once);
    if (index >= 0) pending.splice(index, 1);
    release();
  };
  pending.push(once);
  return once;
}

/** Releases everything still registered, newest first; one failure does not stop the others. */
export function releaseAll(): void {
  const errors: unknown[] = [];
  while (pending.length > 0) {
    try {
      pending[pending.length - 1]!();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `cleanup: ${errors.length} release(s) failed`);
}

/** From now on a termination signal releases everything before the process ends by it. */
export function releaseOnSignal(): () => void {
  return onTerminationSignal(() => {
    try {
      releaseAll();
    } catch (error) {
      process.stderr.write(`bench: ${(error as Error).message}\n`);
    }
  });
}
