/**
 * What this package's tests share: the programs' paths, the real `ipcs -m` parsed into rows, a way
 * to run a program as an unprivileged user, and a ledger of the keys and ids each test file uses.
 * After each test the ledger ends the programs the test started that are still running (core's
 * stopLeftoverPrograms: SIGTERM, so they clean up as they would for a user; SIGKILL if they do not
 * end) and removes what is left under its keys, so even a test that fails or times out leaves nothing; after the file's last test
 * it checks that `ipcs -m` shows none of them.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { isSystemError, ftok, formatKey, SharedMemorySegment } from "@linux-ipc/core";
import { compiledProgram, startCommand, startProgram, stopLeftoverPrograms, tempDir, unusedIpcKey, type ProgramResult, type RunningProgram, type StartOptions } from "@linux-ipc/testing/vitest";

/** The compiled program `name` (dist/<name>.js), as its package script runs it. */
export function program(name: string): string {
  return compiledProgram(import.meta.url, name);
}

export const isRoot = process.getuid?.() === 0;
const NOBODY = "65534";

/** Starts dist/<name>.js as a separate process (core's harness ends it after the test if it still runs). */
export function start(name: string, args: string[], options: StartOptions = {}): RunningProgram {
  return startProgram(program(name), args, options);
}

/** Runs dist/<name>.js to the end with stdin closed. */
export function run(name: string, args: string[], options: StartOptions = {}): Promise<ProgramResult> {
  const running = start(name, args, options);
  running.closeStdin();
  return running.exited;
}

/** Starts an executable, e.g. a compiled C peer (ended after the test if it still runs). */
export function startExecutable(path: string, args: string[], options: StartOptions = {}): RunningProgram {
  return startCommand(path, args, options);
}

/**
 * Starts dist/<name>.js as a user without privileges: as `nobody` (through setpriv) when the tests
 * run as root, whose CAP_IPC_OWNER would bypass the permission checks under test; else as this user.
 */
export function startUnprivileged(name: string, args: string[], options: StartOptions = {}): RunningProgram {
  if (!isRoot) return start(name, args, options);
  return startExecutable("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, program(name), ...args], options);
}

export interface IpcsRow {
  key: number;
  id: number;
  owner: string;
  perms: string;
  bytes: number;
  nattch: number;
  status: string;
  line: string;
}

/** The segments the real `ipcs -m` lists now. */
export function ipcsSegments(): IpcsRow[] {
  return execFileSync("ipcs", ["-m"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith("0x"))
    .map((line) => {
      const [key, id, owner, perms, bytes, nattch, ...status] = line.trim().split(/\s+/) as [string, string, string, string, string, string, ...string[]];
      return { key: Number(key) | 0, id: Number(id), owner, perms, bytes: Number(bytes), nattch: Number(nattch), status: status.join(" "), line };
    });
}

export function ipcsByKey(key: number): IpcsRow | undefined {
  return ipcsSegments().find((row) => row.key === (key | 0));
}

export function ipcsById(id: number): IpcsRow | undefined {
  return ipcsSegments().find((row) => row.id === id);
}

/** Removes the segment with `key` if there is one (a test's `finally`). */
export function removeByKey(key: number): void {
  try {
    SharedMemorySegment.open(key).remove();
  } catch (error) {
    if (!isSystemError(error, "ENOENT")) throw error;
  }
}

export interface SegmentLedger {
  /** A key no segment has now (unusedIpcKey). */
  key(): number;
  /** A fresh file for ftok, kept until the file's last test is checked, and the key it makes. */
  anchor(projId: number): { path: string; key: number };
  /** Claims `key` (e.g. from ftok on the shipped file), which must be unused now. */
  track(key: number): number;
  /** A segment id to watch (a segment marked for removal shows key 0x00000000). */
  trackId(id: number): void;
}

/**
 * The keys and ids one test file uses. Every key handed out is unused when handed out. After each
 * test, programs still running are ended and segments left under that test's keys are removed
 * (only that test's: a key from an earlier test may belong to someone else by now). After the
 * file's last test `ipcs -m` must list none of them, exactly as before the file's first test.
 *
 * ftok keys come from files kept until then: ftok reads the inode number, which the file system
 * hands to the next new file once a file is deleted, so a deleted anchor's key is anyone's.
 */
export function segmentLedger(): SegmentLedger {
  const keys = new Set<number>();
  const keysOfThisTest = new Set<number>();
  const ids = new Set<number>();
  const anchors = tempDir("sysv-shm-ftok-");
  let anchorCount = 0;
  const ours = (rows: IpcsRow[]): string[] => rows.filter((row) => keys.has(row.key) || ids.has(row.id)).map((row) => row.line);
  const claim = (key: number): number => {
    keys.add(key | 0);
    keysOfThisTest.add(key | 0);
    return key;
  };
  let before: IpcsRow[] = [];
  beforeAll(() => {
    before = ipcsSegments();
  });
  afterEach(async () => {
    // Programs first (they remove what they own when they can), then whatever is left under the keys.
    await stopLeftoverPrograms();
    for (const key of keysOfThisTest) removeByKey(key);
    keysOfThisTest.clear();
  });
  afterAll(() => {
    try {
      expect(ours(ipcsSegments()), "segments this test file used are still listed by ipcs -m").toEqual(ours(before));
    } finally {
      anchors.remove();
    }
  });
  return {
    key() {
      return claim(unusedIpcKey());
    },
    anchor(projId) {
      const path = anchors.file(`anchor-${++anchorCount}`);
      writeFileSync(path, "");
      return { path, key: this.track(ftok(path, projId)) };
    },
    track(key) {
      expect(ipcsByKey(key), `key ${formatKey(key)} is already in use`).toBeUndefined();
      return claim(key);
    },
    trackId(id) {
      ids.add(id);
    },
  };
}
