/** What notify-server and notify-client share: the key, the segment's size and the two semaphores. */
import type { OptionSpec } from "@linux-ipc/programs";

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
