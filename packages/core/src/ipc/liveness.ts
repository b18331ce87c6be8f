/**
 * Is a process still there? Processes that share memory record their pid (and start time) so a
 * waiting peer can tell "slow" from "dead": a process killed with SIGKILL runs no cleanup and
 * leaves its state in the shared memory as it was.
 *
 * Read from /proc/<pid>/stat rather than with kill(pid, 0) alone: kill succeeds on a zombie (dead
 * but not yet reaped by its parent) and on an unrelated process that reused the pid; /proc tells
 * both apart (state Z, and a different start time).
 */
import { readFileSync } from "node:fs";

interface ProcStat {
  state: string;
  /** Field 4: the parent's pid. */
  ppid: number;
  /** Field 5: the process group. */
  pgrp: number;
  /** Field 22: when the process started, in clock ticks since boot. */
  startTime: number;
}

function readProcStat(pid: number | "self"): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", ppid: Number(fields[1]), pgrp: Number(fields[2]), startTime: Number(fields[19]) };
}

/** This process's start time (clock ticks since boot), recorded beside its pid in shared memory. */
export const ownStartTime: number = readProcStat("self")?.startTime ?? 0;

/** The start time of process `pid` (clock ticks since boot), or null if there is no such process. */
export function processStartTime(pid: number): number | null {
  return readProcStat(pid)?.startTime ?? null;
}

/** The parent and the process group of process `pid` (from /proc), or null if there is no such process. */
export function processFamily(pid: number | "self"): { ppid: number; pgrp: number } | null {
  const stat = readProcStat(pid);
  return stat === null ? null : { ppid: stat.ppid, pgrp: stat.pgrp };
}

/**
 * True while `pid` names a running (or stopped) process. False once it has exited, even before its
 * parent reaps it, and when `startTime` (if not 0) shows the pid now belongs to another process.
 */
export function isProcessAlive(pid: number, startTime = 0): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  const stat = readProcStat(pid);
  if (stat === null || stat.state === "Z" || stat.state === "X" || stat.state === "x") return false;
  return startTime === 0 || stat.startTime === startTime;
}
