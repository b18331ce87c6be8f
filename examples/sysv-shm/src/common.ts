/**
 * What the sysv-shm programs share: their key, ftok and interval options, the C programs' habit of
 * ending with a different exit code for each failed call, and hints that turn a failed shmget's
 * errno into what to do about it.
 */
import { fileURLToPath } from "node:url";
import { ExitError, perrorLine, ipcKeyOption, ftokPathOption, projIdOption as projIdOptionSpec, toKey, checkProjId, type OptionSpec } from "@linux-ipc/programs";
import { MAX_TIMER_MS, SystemError, isSystemError, formatKey, SharedMemorySegment, segmentLeftover } from "@linux-ipc/core";

/** The key the tutorial's C shmwrite and shmread (P5/P6) hard-code: `(key_t)1234`. */
export const TUTORIAL_KEY = 1234;

/** The server/client pair's segment size and ftok project id (comm.h's SIZE and PROJ_ID). */
export const SERVER_SEGMENT_SIZE = 4096;
export const TUTORIAL_PROJ_ID = 0x6666;

/**
 * The file the server and client give to ftok by default. comm.h used "./tmp", relative to
 * wherever the program was started; this one is found beside the program files, whatever the cwd.
 */
export const FTOK_ANCHOR = fileURLToPath(new URL("../ftok-anchor", import.meta.url));

export const keyOption = ipcKeyOption(TUTORIAL_KEY);

export const intervalOption = {
  type: "integer",
  value: "MS",
  description: "milliseconds between ticks (the C sleeps 1 s)",
  default: 1000,
  min: 0,
  max: MAX_TIMER_MS,
} as const satisfies OptionSpec;

export const pathOption = ftokPathOption(FTOK_ANCHOR);

export const projIdOption = projIdOptionSpec(TUTORIAL_PROJ_ID);

/** Shared with the other examples that name System V objects (packages/programs). */
export { toKey, checkProjId };

/** How the C's `printf("%p")` shows an address. */
export function formatAddress(address: bigint): string {
  return `0x${address.toString(16)}`;
}

/** How the C's `printf("%x", key)` shows a key: unpadded hex of the unsigned value. */
export function formatKeyLikeC(key: number): string {
  return (key >>> 0).toString(16);
}

/**
 * Runs one step of a program; a system call failing inside it ends the program with `exitCode`, as
 * the C's `exit(n)` after that call does, printing one line (the call, what it named, the reason,
 * and the hint when there is one).
 */
export function exitOnFailure<T>(exitCode: number, step: () => T, hint?: (error: SystemError) => string | undefined): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof SystemError)) throw error;
    const advice = hint?.(error);
    throw new ExitError(advice ? `${perrorLine(error)} (${advice})` : perrorLine(error), exitCode);
  }
}

/** The id of the segment that has `key` now, or undefined (none, or not even visible to this user). */
function segmentIdOf(key: number): number | undefined {
  try {
    return SharedMemorySegment.open(key).id;
  } catch (error) {
    if (isSystemError(error)) return undefined;
    throw error;
  }
}

/**
 * What a failed shmget means for `key` and `size`. `whenMissing` is the advice for ENOENT (only
 * possible without IPC_CREAT), which depends on who should have created the segment.
 */
export function explainShmget(key: number, size: number, whenMissing?: string): (error: SystemError) => string | undefined {
  return (error) => {
    switch (error.code) {
      case "ENOENT":
        return whenMissing;
      case "EEXIST": {
        const id = segmentIdOf(key);
        const leftover = id === undefined ? null : segmentLeftover(id);
        if (leftover !== null) {
          return `a segment with key ${formatKey(key)} exists already (shm ${id}), left by pid ${leftover.deadPids.join(", ")}, which is gone and did not remove it; remove it with: ${leftover.ipcrm} (or run ipc-sweep)`;
        }
        return id === undefined
          ? `a segment with key ${formatKey(key)} exists already`
          : `a segment with key ${formatKey(key)} exists already (shm ${id}): another run still has it, or one was killed without removing it; remove it with: ipcrm -m ${id}`;
      }
      case "EINVAL": {
        const id = segmentIdOf(key);
        if (id === undefined) return `${size} bytes is not a size the kernel allows for a new segment`;
        try {
          return `the segment with key ${formatKey(key)} (shm ${id}) has ${SharedMemorySegment.fromId(id).size} bytes, fewer than the ${size} asked for`;
        } catch (statError) {
          if (!isSystemError(statError)) throw statError;
          return `the segment with key ${formatKey(key)} (shm ${id}) is smaller than the ${size} bytes asked for`;
        }
      }
      case "EACCES":
        return `its permissions do not let this user use it; see its perms with: ipcs -m`;
      default:
        return undefined;
    }
  };
}

/**
 * Tries to attach segment `id` in this process and detaches at once: the line saying what happened,
 * with the error's code and Node-style message when shmat fails.
 */
export function attachAttempt(id: number, who: string): { attached: boolean; line: string } {
  try {
    const attachment = SharedMemorySegment.fromId(id).attach();
    attachment.detach();
    return { attached: true, line: `shmat as ${who}: attached` };
  } catch (error) {
    if (!(error instanceof SystemError)) throw error;
    return { attached: false, line: `shmat as ${who}: failed: ${error.message}` };
  }
}
