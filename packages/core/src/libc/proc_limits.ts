/**
 * The kernel's IPC limits in /proc/sys, read when an error must name the one a size passed (a bare
 * EINVAL from msgsnd or mq_open does not say which). Internal: not re-exported by the package.
 */
import { readFileSync } from "node:fs";
import { SystemError } from "./errno.ts";

/** A kernel limit of /proc/sys, read when an error needs to name it (null where /proc is hidden). */
export function procLimit(file: string): number | null {
  try {
    return Number(readFileSync(file, "utf8").trim());
  } catch {
    return null;
  }
}

/** The SystemError for `errno`, its message naming the kernel limit `size` passed. */
export function limitError(errno: number, syscall: string, details: { path?: string }, what: string, size: number, file: string): SystemError {
  const name = file.slice(file.lastIndexOf("/") + 1);
  return new SystemError(errno, syscall, { ...details, note: `${what} ${size} is more than ${name} = ${procLimit(file)}, ${file}` });
}
