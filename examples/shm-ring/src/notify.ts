/** What notify-server and notify-client share: the key, the segment's size and the two semaphores. */
import { ExitError, type OptionSpec } from "@linux-ipc/programs";
import { isSystemError, WaitTimeoutError, type SemaphoreSet } from "@linux-ipc/core";

/** The default key of the segment and of the semaphore set: the bytes "NOTI". */
export const NOTIFY_KEY = 0x4e4f5449;
/** The segment's size, as P13/P14's SIZE. */
export const SEGMENT_SIZE = 4096;
/** Semaphore 0, WRITTEN: the client posts it after each write; the server sleeps on it. */
export const WRITTEN = 0;
/** Semaphore 1, READ: the server posts it after printing; the client waits on it before writing. */
export const READ = 1;

export const notifyKeyOption = {
  type: "integer",
  value: "K",
  description: "System V key of the segment and of the semaphore set, decimal or 0x hex",
  default: NOTIFY_KEY,
  min: 1,
  max: 0x7fffffff,
} as const satisfies OptionSpec;

/**
 * Byte offset of the client's pid word, the segment's last 4 bytes (the strings use at most 27):
 * notify-client stores its pid there while it writes and 0 when it has written all its strings, so
 * a server waiting for the next string can tell a client that died (pid set, process gone) from no
 * client yet (0).
 */
export const CLIENT_PID_OFFSET = SEGMENT_SIZE - 4;

/** How often a side waiting on a semaphore checks that the other side is still there (ms). */
export const PEER_CHECK_MS = 200;

/**
 * Waits for semaphore `num` (P, without SEM_UNDO), and every PEER_CHECK_MS asks `peerGone` whether
 * the other side has died: if it returns a reason (and the semaphore is still not there to take),
 * runs `cleanup` and ends the program with that reason. A set removed while waiting (the other side
 * ended and removed it) ends the program with `removedReason`.
 */
export async function acquireWhilePeerLives(semaphores: SemaphoreSet, num: number, peerGone: () => string | null, removedReason: string, cleanup: () => void = () => {}): Promise<void> {
  for (;;) {
    try {
      await semaphores.acquireAsync(num, 1, { undo: false, timeoutMs: PEER_CHECK_MS });
      return;
    } catch (error) {
      if (isSystemError(error, "EIDRM") || isSystemError(error, "EINVAL")) throw new ExitError(removedReason, 1);
      if (!(error instanceof WaitTimeoutError)) throw error;
    }
    const reason = peerGone();
    if (reason === null) continue;
    if (semaphores.tryAcquire(num, 1, { undo: false })) return;
    cleanup();
    throw new ExitError(reason, 1);
  }
}
