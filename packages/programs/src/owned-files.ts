/**
 * Opening the files the example programs share with other processes, when the path may lie in a
 * folder other users can write to (/tmp, where the tutorials run them, often as root).
 *
 * A symbolic link planted there by another user would make the program write wherever the link
 * points: with fs.protected_symlinks = 0 (the setting on some machines) even root follows it, so
 * root's map-write truncated a root-owned file to 68 bytes, and a dangling link made root create a
 * file where it pointed. The opens here refuse a link at the path (O_NOFOLLOW) and create a missing
 * file with O_EXCL, which never follows a link either. Only the last component is checked: folders
 * on the way are the user's choice.
 */
import { readFileSync } from "node:fs";
import { O_CREAT, O_EXCL, O_NOFOLLOW, isSystemError, openRegularFile, type Stat } from "@linux-ipc/core";

/** A path that had to be the file itself is a symbolic link. */
export class SymbolicLinkRefusedError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`'${path}' is a symbolic link: not followed (whoever can write to its folder could point it at any file this user may write); give the file's own path`);
    this.path = path;
  }
}

/**
 * Opens the regular file at `path` with `flags` (O_RDWR, say), creating it with `mode` (less the
 * umask) if it is missing. A symbolic link at `path`, dangling or not, is a SymbolicLinkRefusedError.
 */
export function openOrCreateOwnFile(path: string, flags: number, mode: number): { fd: number; stat: Stat; created: boolean } {
  // Open first, create second: a file created by someone between the two makes O_EXCL fail, and the
  // next round opens it (or refuses it, if it is a link). Three rounds only: no spinning on a race.
  for (let round = 0; ; round++) {
    try {
      return { ...openRegularFile(path, flags | O_NOFOLLOW), created: false };
    } catch (error) {
      if (isSystemError(error, "ELOOP")) throw new SymbolicLinkRefusedError(path);
      if (!isSystemError(error, "ENOENT")) throw error;
    }
    try {
      return { ...openRegularFile(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode), created: true };
    } catch (error) {
      if (!isSystemError(error, "EEXIST") || round === 2) throw error;
    }
  }
}

/** The name /etc/passwd gives `uid`, for messages; null if it lists none. */
export function userName(uid: number): string | null {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid && id !== "") return name;
    }
  } catch {
    // No /etc/passwd (a minimal container): the uid alone will do.
  }
  return null;
}

/** "user nobody (uid 65534)", or "uid 1234" when the user has no name. */
export function describeUser(uid: number): string {
  const name = userName(uid);
  return name === null ? `uid ${uid}` : `user ${name} (uid ${uid})`;
}
