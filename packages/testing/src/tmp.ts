/** Temporary paths and System V keys that belong to one test, so tests run in parallel and beside a demo. */
import { chmodSync, lchownSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomInt } from "node:crypto";

/** A temporary directory made by `tempDir`. */
export interface TempDir {
  /** The directory's path. */
  readonly path: string;
  /** The path of `name` inside it. */
  file(name: string): string;
  /** Deletes the directory and everything in it. */
  remove(): void;
}

/** A fresh directory under the system temp dir; `remove()` deletes it and everything in it. */
export function tempDir(prefix = "ipc-test-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The keys of every System V object of one kind now on the machine, from /proc/sysvipc (all users'). */
function keysInUse(kind: "shm" | "sem" | "msg"): Set<number> {
  const [header, ...rows] = readFileSync(`/proc/sysvipc/${kind}`, "utf8").trim().split("\n");
  const column = header!.trim().split(/\s+/).indexOf("key");
  return new Set(rows.map((row) => Number(row.trim().split(/\s+/)[column])));
}

/**
 * A System V key that no segment, semaphore set or message queue uses right now, from a range the
 * demos never use (0x7e000000 and up, random low bits). The caller still creates with IPC_EXCL, so
 * a race with another test fails loudly.
 */
export function unusedIpcKey(): number {
  const used = new Set([...keysInUse("shm"), ...keysInUse("sem"), ...keysInUse("msg")]);
  for (;;) {
    const key = 0x7e000000 | randomInt(1, 0x00ffffff);
    if (!used.has(key)) return key;
  }
}

/**
 * Plants the symbolic link `link` -> `target` as another user would in a sticky, world-writable
 * folder such as /tmp: when the tests run as root, the link's folder is made mode 1777 and the
 * link is given to `nobody`, the case where `fs.protected_symlinks = 0` lets root follow it.
 */
export function plantForeignSymlink(target: string, link: string): void {
  symlinkSync(target, link);
  if (process.getuid?.() === 0) {
    chmodSync(dirname(link), 0o1777);
    lchownSync(link, 65534, 65534);
  }
}
