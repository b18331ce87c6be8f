/**
 * What this package's tests share: the programs' paths, the C peers (compiled at test time from
 * ../c), a wait for a process to sleep in a given system call, and a ledger of the System V keys and
 * POSIX names each test file uses. After each test the ledger ends the programs still running and
 * removes what is left under that test's keys and names, and it does so too when the test process is
 * ended by SIGINT, SIGTERM or SIGHUP mid-test (turbo stopping the run after another task failed,
 * Ctrl-C), when no afterEach runs; after the file's last test it checks that `ipcs -q` lists none of
 * its keys and that none of its names exists (nor, where /dev/mqueue is mounted, any queue of its
 * names that was not there before), exactly as before the file's first test.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { arch } from "node:os";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { MessageQueue, PosixMessageQueue, formatKey, isSystemError, mq_unlink } from "@linux-ipc/core";
import { onTerminationSignal } from "@linux-ipc/programs";
import { compileC, compiledProgram, startCommand, startProgram, stopLeftoverPrograms, unusedIpcKey, type ProgramResult, type RunningProgram, type StartOptions } from "@linux-ipc/testing/vitest";

/** The programs started through this module since the last test ended, for the ledger's cleanup on a signal. */
const startedThisTest = new Set<RunningProgram>();

/** Starts dist/<name>.js as a separate process (the harness ends it after the test if it still runs). */
export function start(name: string, args: string[], options: StartOptions = {}): RunningProgram {
  const program = startProgram(compiledProgram(import.meta.url, name), args, options);
  startedThisTest.add(program);
  return program;
}

/** Runs dist/<name>.js to the end with `input` (default: none) on its stdin. */
export function run(name: string, args: string[], input?: Uint8Array | string): Promise<ProgramResult> {
  const running = start(name, args);
  if (input !== undefined) running.write(input);
  running.closeStdin();
  return running.exited;
}

/** Compiles c/<name>.c (once per test file) and returns the executable's path. */
const compiled = new Map<string, string>();
export function cPeer(name: "msg_peer" | "mq_peer"): string {
  let path = compiled.get(name);
  if (path === undefined) {
    path = compileC(name, readFileSync(new URL(`../c/${name}.c`, import.meta.url), "utf8"));
    compiled.set(name, path);
  }
  return path;
}

/** Starts a C peer (ended after the test if it still runs). */
export function startPeer(name: "msg_peer" | "mq_peer", args: string[]): RunningProgram {
  const peer = startCommand(cPeer(name), args);
  startedThisTest.add(peer);
  return peer;
}

/** Runs a C peer to the end. */
export function runPeer(name: "msg_peer" | "mq_peer", args: string[]): Promise<ProgramResult> {
  const running = startPeer(name, args);
  running.closeStdin();
  return running.exited;
}

/** The bytes as two hex digits each, as the C peers print and read them. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** A payload with a NUL, bytes 0x80 to 0xff and plain text in it. */
export const BINARY = Uint8Array.from([0x41, 0x00, 0x42, ...Array.from({ length: 128 }, (_, i) => 0x80 + i), 0x00, 0x0a, 0x43]);

const SYSCALL_NUMBERS: Record<string, Record<string, number>> = {
  x64: { msgrcv: 70, msgsnd: 69 },
  arm64: { msgrcv: 188, msgsnd: 189 },
};

/**
 * Resolves once process `pid`'s main thread sleeps in system call `name` (its /proc/PID/syscall
 * names the call), checking every few milliseconds; rejects after `timeoutMs`, saying what it awaited.
 */
export async function sleepingIn(pid: number, name: "msgrcv" | "msgsnd", timeoutMs = 15_000): Promise<void> {
  const number = SYSCALL_NUMBERS[arch()]?.[name];
  if (number === undefined) throw new Error(`no ${name} system call number known for ${arch()}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let current = "";
    try {
      current = readFileSync(`/proc/${pid}/syscall`, "utf8").split(" ")[0]!;
    } catch (error) {
      throw new Error(`pid ${pid} ended before it slept in ${name}: ${(error as Error).message}`);
    }
    if (current === String(number)) return;
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not sleep in ${name} within ${timeoutMs} ms (/proc/${pid}/syscall: ${current})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The keys `ipcs -q` lists now. */
export function ipcsQueueKeys(): number[] {
  return execFileSync("ipcs", ["-q"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith("0x"))
    .map((line) => Number(line.split(/\s+/)[0]) | 0);
}

/** Whether the POSIX queue `name` exists. */
export function posixQueueExists(name: string): boolean {
  try {
    PosixMessageQueue.open(name, "read").close();
    return true;
  } catch (error) {
    if (isSystemError(error, "ENOENT")) return false;
    throw error;
  }
}

/** Every test name starts with this (one prefix per test process: vitest runs files in parallel). */
const NAME_PREFIX = `msg-queue-test-${process.pid}-`;

/** The queues of this process's tests that /dev/mqueue shows, or null where it is not mounted. */
function mountedQueues(): string[] | null {
  return existsSync("/dev/mqueue")
    ? readdirSync("/dev/mqueue")
        .filter((name) => name.startsWith(NAME_PREFIX))
        .sort()
    : null;
}

function unlinkName(name: string): void {
  try {
    mq_unlink(name);
  } catch (error) {
    if (!isSystemError(error, "ENOENT")) throw error;
  }
}

function removeKey(key: number): void {
  try {
    MessageQueue.open(key).remove();
  } catch (error) {
    if (!isSystemError(error, "ENOENT")) throw error;
  }
}

export interface QueueLedger {
  /** A System V key no queue (nor segment, nor set) has now. */
  key(): number;
  /** A POSIX queue name no queue has now. */
  name(): string;
  /** Claims `key` (from ftok), which no queue may have now. */
  track(key: number): number;
}

export function queueLedger(): QueueLedger {
  const keys = new Set<number>();
  const names = new Set<string>();
  const keysOfThisTest = new Set<number>();
  const namesOfThisTest = new Set<string>();
  let mountedBefore: string[] | null = null;
  let count = 0;
  const removeThisTestsQueues = (): void => {
    for (const key of keysOfThisTest) removeKey(key);
    for (const name of namesOfThisTest) unlinkName(name);
    keysOfThisTest.clear();
    namesOfThisTest.clear();
  };
  let stopHandlingSignals = (): void => {};
  beforeAll(() => {
    mountedBefore = mountedQueues();
    // The programs are told to end (a server removes its queue), then the test's queues are removed,
    // and the test process ends by the signal.
    stopHandlingSignals = onTerminationSignal(() => {
      for (const program of startedThisTest) program.kill("SIGTERM");
      removeThisTestsQueues();
    });
  });
  afterEach(async () => {
    await stopLeftoverPrograms();
    startedThisTest.clear();
    removeThisTestsQueues();
  });
  afterAll(() => {
    stopHandlingSignals();
    expect(
      ipcsQueueKeys().filter((key) => keys.has(key)),
      "queues this test file used are still listed by ipcs -q",
    ).toEqual([]);
    expect([...names].filter(posixQueueExists), "POSIX queues this test file used still exist").toEqual([]);
    expect(mountedQueues(), "/dev/mqueue is not as it was").toEqual(mountedBefore);
  });
  const claim = (key: number): number => {
    keys.add(key | 0);
    keysOfThisTest.add(key | 0);
    return key;
  };
  return {
    key() {
      return claim(unusedIpcKey() | 0);
    },
    track(key) {
      expect(ipcsQueueKeys(), `key ${formatKey(key)} is already in use`).not.toContain(key | 0);
      return claim(key);
    },
    name() {
      const name = `/${NAME_PREFIX}${++count}`;
      expect(posixQueueExists(name), `${name} exists already`).toBe(false);
      names.add(name);
      namesOfThisTest.add(name);
      return name;
    },
  };
}
