/**
 * Leftovers: System V segments and semaphore sets whose owner died without removing them. A program
 * killed with SIGKILL runs no cleanup, so its objects stay in the kernel until someone removes them,
 * and a restart under the same key fails with EEXIST. These helpers tell a leftover from an object
 * in use, conservatively: only objects of the current user, with no process attached or waiting, and
 * whose creator (segments: `shm_cpid`) or every last operator (semaphore sets: `GETPID` of each
 * semaphore; the kernel records no creator pid for them) is gone. A set nobody ever operated on
 * counts only once it is 10 seconds old.
 */
import { readFileSync } from "node:fs";
import { isSystemError } from "../libc/errno.ts";
import { formatKey, IPC_RMID } from "../libc/sys/ipc.ts";
import { shmctl, shmget, shmStat } from "../libc/sys/shm.ts";
import { GETNCNT, GETPID, GETZCNT, semctl, semget, semStat } from "../libc/sys/sem.ts";
import { isProcessAlive } from "./liveness.ts";

/** How long a semaphore set nobody ever operated on must have existed to count as a leftover (s). */
const UNUSED_SET_GRACE_S = 10;

/** A System V object that looks abandoned by a dead owner (see `segmentLeftover`, `semaphoreSetLeftover`). */
export interface Leftover {
  /** "segment" (`ipcs -m`) or "semaphore set" (`ipcs -s`). */
  kind: "segment" | "semaphore set";
  /** The object's id, as ipcs shows it. */
  id: number;
  /** Its key (0 for IPC_PRIVATE). */
  key: number;
  /** The pids that last had it (the creator of a segment; the last operators of a set's semaphores), all gone. */
  deadPids: number[];
  /** The exact command that removes it: `ipcrm -m <id>` or `ipcrm -s <id>`. */
  ipcrm: string;
}

function currentUid(): number {
  return process.geteuid?.() ?? -1;
}

/** Runs `read`, returning null if the object has gone meanwhile (EINVAL, EIDRM) or is not readable (EACCES). */
function unlessGone<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (isSystemError(error, "EINVAL") || isSystemError(error, "EIDRM") || isSystemError(error, "EACCES")) return null;
    throw error;
  }
}

/**
 * The segment `id` as a leftover, or null if it is not one: it must belong to the current user,
 * have no attachment, and its creator (`shm_cpid`) must be gone.
 */
export function segmentLeftover(id: number): Leftover | null {
  const stat = unlessGone(() => shmStat(id));
  if (stat === null) return null;
  if (stat.shm_perm.uid !== currentUid() || Number(stat.shm_nattch) !== 0 || isProcessAlive(stat.shm_cpid)) return null;
  return { kind: "segment", id, key: stat.shm_perm.__key, deadPids: [stat.shm_cpid], ipcrm: `ipcrm -m ${id}` };
}

/**
 * The semaphore set `id` as a leftover, or null if it is not one: it must belong to the current
 * user, no process may wait on it, and the last process to operate on each of its semaphores (the
 * creator's initialisation counts) must be gone.
 */
export function semaphoreSetLeftover(id: number): Leftover | null {
  const found = unlessGone(() => {
    const stat = semStat(id);
    if (stat.sem_perm.uid !== currentUid()) return null;
    const pids = new Set<number>();
    for (let num = 0; num < stat.sem_nsems; num++) {
      if (semctl(id, num, GETNCNT) !== 0 || semctl(id, num, GETZCNT) !== 0) return null;
      const pid = semctl(id, num, GETPID);
      if (pid !== 0) pids.add(pid);
    }
    if ([...pids].some((pid) => isProcessAlive(pid))) return null;
    // No pid recorded: nobody ever operated on it. Its creator may be about to initialise it, so
    // only a set that has stayed that way for a while counts.
    if (pids.size === 0 && Date.now() / 1000 - Number(stat.sem_ctime) < UNUSED_SET_GRACE_S) return null;
    return { kind: "semaphore set" as const, id, key: stat.sem_perm.__key, deadPids: [...pids], ipcrm: `ipcrm -s ${id}` };
  });
  return found ?? null;
}

/** The id of the segment (or semaphore set) with `key`, or null if there is none. */
export function idAtKey(kind: Leftover["kind"], key: number): number | null {
  try {
    return kind === "segment" ? shmget(key, 0, 0) : semget(key, 0, 0);
  } catch (error) {
    if (isSystemError(error, "ENOENT")) return null;
    throw error;
  }
}

/** The ids listed in /proc/sysvipc/<table> (every object of the IPC namespace, whoever owns it). */
function idsIn(table: "shm" | "sem"): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/sysvipc/${table}`, "latin1");
  } catch {
    return [];
  }
  const [header = "", ...rows] = text.split("\n");
  const column = header
    .trim()
    .split(/\s+/)
    .indexOf(table === "shm" ? "shmid" : "semid");
  return rows.filter((row) => row.trim() !== "").map((row) => Number(row.trim().split(/\s+/)[column]));
}

/** Every segment and semaphore set of the current user that is a leftover (segments first, by id). */
export function findLeftovers(): Leftover[] {
  const segments = idsIn("shm")
    .sort((a, b) => a - b)
    .map(segmentLeftover);
  const sets = idsIn("sem")
    .sort((a, b) => a - b)
    .map(semaphoreSetLeftover);
  return [...segments, ...sets].filter((found): found is Leftover => found !== null);
}

/**
 * Removes `leftover` (IPC_RMID) if it is still a leftover when checked again now; returns whether it
 * removed it. An object that came back into use, or went, is left alone.
 */
export function removeLeftover(leftover: Leftover): boolean {
  const again = leftover.kind === "segment" ? segmentLeftover(leftover.id) : semaphoreSetLeftover(leftover.id);
  if (again === null) return false;
  return (
    unlessGone(() => {
      if (leftover.kind === "segment") shmctl(leftover.id, IPC_RMID);
      else semctl(leftover.id, 0, IPC_RMID);
      return true;
    }) ?? false
  );
}

/** A leftover in words: `segment 0x4e4f5449 (shmid 5) of pid 1234, which is gone`. */
export function describeLeftover(leftover: Leftover): string {
  const by = leftover.deadPids.length === 0 ? "never used" : `of pid ${leftover.deadPids.join(", ")}, which ${leftover.deadPids.length === 1 ? "is" : "are"} gone`;
  return `${leftover.kind} ${formatKey(leftover.key)} (${leftover.kind === "segment" ? "shmid" : "semid"} ${leftover.id}) ${by}`;
}
