// Programs blocked in each kind of sync wait, ended by real signals from this process: a termination
// signal the program listens for ends the wait with EINTR, its listener cleans up and the program dies
// of that signal, leaving nothing behind; a SIGUSR2 that it also listens for does not end the wait.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { SharedMemorySegment } from "./shared_memory.ts";
import { SemaphoreSet } from "./semaphore_set.ts";
import { MessageQueue } from "./message_queue.ts";
import { PosixMessageQueue } from "./posix_message_queue.ts";
import { kernelWait, waitUntilBlocked } from "./procfs.ts";
import { sleep } from "./timeouts.ts";
import { startProgram, unusedIpcKey, useTempDir, type ProgramResult, type RunningProgram } from "@linux-ipc/testing/vitest";

const fixture = fileURLToPath(new URL("../../dist-fixtures/sync-wait-signal.js", import.meta.url));
const dir = useTempDir("interrupts-");

/** Resolves once every thread of process `pid` sleeps (state S or D). */
async function everyThreadAsleep(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  const running = (): number[] =>
    readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((tid) => !["S", "D"].includes(kernelWait(pid, tid)?.state ?? "S"));
  for (let busy = running(); busy.length > 0; busy = running()) {
    if (Date.now() > deadline) throw new Error(`threads ${busy.join(", ")} of process ${pid} still running after 10 s`);
    await sleep(1);
  }
}

/** Whether `signal`, sent to process `pid`, is still pending (taken by no thread yet); false once the process is gone. */
function isPending(pid: number, signal: NodeJS.Signals): boolean {
  const bit = 1n << BigInt(constants.signals[signal] - 1);
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return false;
  }
  return status
    .split("\n")
    .filter((line) => line.startsWith("ShdPnd:") || line.startsWith("SigPnd:"))
    .some((line) => (BigInt(`0x${line.split(/\s+/)[1]}`) & bit) !== 0n);
}

/** Resolves once no SIGUSR2 sent to process `pid` is pending any more: some thread has taken it. */
async function takenSigusr2(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (isPending(pid, "SIGUSR2")) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still had SIGUSR2 pending after 10 s`);
    await sleep(1);
  }
}

/** The program's wait as the test recognises it: the calls it sleeps in and the range of their first argument. */
interface Wait {
  calls: string[];
  asleep: { firstArgument: (argument: bigint) => boolean };
}

/**
 * Sends `signal` to the program and resolves with how it ended. A wait that sleeps in slices (the
 * ring's and FutexMutex's, to check on their peer every PEER_CHECK_MS) is between two sleeps for a
 * moment after each slice, a longer one on a loaded machine, and a signal that lands then interrupts
 * no sleep (see ipc/interrupts.ts): libuv's handler takes it and the wait sleeps on. The test knows
 * such a miss for certain, since a wait that a signal ended never sleeps again: the signal is no
 * longer pending, and the main thread sleeps in the wait once more. It then sends the signal again,
 * while the thread sleeps; at most 5 times.
 */
async function endWith(program: RunningProgram, signal: NodeJS.Signals, wait: Wait): Promise<ProgramResult> {
  let ended = false;
  const exited = program.exited.finally(() => {
    ended = true;
  });
  const sleepsAgain = (): boolean => {
    if (isPending(program.pid, signal)) return false;
    const now = kernelWait(program.pid);
    return now !== null && now.state === "S" && wait.calls.includes(now.syscall ?? "") && now.firstArgument !== null && wait.asleep.firstArgument(now.firstArgument);
  };
  for (let sent = 1; ; sent++) {
    program.kill(signal);
    const deadline = Date.now() + 20_000;
    while (!ended && !sleepsAgain()) {
      if (Date.now() > deadline) throw new Error(`process ${program.pid} neither ended nor slept again in ${wait.calls.join("/")}() within 20 s of ${signal}\n${program.transcript()}`);
      await sleep(5);
    }
    if (ended) return exited;
    if (sent === 5) throw new Error(`process ${program.pid} slept on in ${wait.calls.join("/")}() after each of ${sent} ${signal}s, each sent while it slept there`);
  }
}

describe("a sync wait in a program that listens for termination signals", () => {
  const cases: { kind: string; signal: NodeJS.Signals }[] = [
    { kind: "sysv", signal: "SIGINT" },
    { kind: "futex", signal: "SIGTERM" },
    { kind: "mutex", signal: "SIGHUP" },
    { kind: "named", signal: "SIGINT" },
    { kind: "unnamed", signal: "SIGTERM" },
    { kind: "ring-receive", signal: "SIGHUP" },
    { kind: "ring-send", signal: "SIGINT" },
    { kind: "pipe", signal: "SIGTERM" },
    { kind: "fifo", signal: "SIGHUP" },
    { kind: "msg-receive", signal: "SIGINT" },
    { kind: "msg-receive-timed", signal: "SIGHUP" },
    { kind: "msg-send", signal: "SIGTERM" },
    { kind: "mq-receive", signal: "SIGHUP" },
  ];
  for (const { kind, signal } of cases) {
    it(`ends on ${signal} with the program's cleanup, and goes on after a SIGUSR2 (${kind})`, async () => {
      const key = unusedIpcKey();
      const fifo = dir.file("fifo");
      const program = startProgram(fixture, [kind, String(key), fifo]);
      const line = await program.waitForLine(/^waiting /);
      const [, syscall, from, to] = line.split(" ") as [string, string, string?, string?];
      // glibc's poll() is the ppoll system call on arm64.
      const calls = syscall === "poll" ? ["poll", "ppoll"] : [syscall];
      const asleep = { firstArgument: (argument: bigint) => from === undefined || (argument >= BigInt(from) && argument < BigInt(to!)) };
      await waitUntilBlocked(program.pid, calls, asleep);
      program.kill("SIGUSR2");
      await takenSigusr2(program.pid);
      await waitUntilBlocked(program.pid, calls, asleep);
      // The thread that took SIGUSR2 has run libuv's handler once it sleeps again; sent before that,
      // the termination signal could reach the event loop first and end the program before the
      // SIGUSR2 listener runs.
      await everyThreadAsleep(program.pid);
      const result = await endWith(program, signal, { calls, asleep });
      expect(result).toMatchObject({ signal, stderr: "", stdout: `${line}\nSIGUSR2 handled\ncleanup ran ${signal}\n` });
      expect(() => SharedMemorySegment.open(key)).toThrow(/ENOENT/);
      expect(() => SemaphoreSet.open(key)).toThrow(/ENOENT/);
      expect(() => MessageQueue.open(key)).toThrow(/ENOENT/);
      expect(() => PosixMessageQueue.open(`/ipc-test-${key.toString(16)}`)).toThrow(/ENOENT/);
      expect(existsSync(`/dev/shm/sem.ipc-test-${key.toString(16)}`)).toBe(false);
      expect(existsSync(fifo)).toBe(false);
    });
  }
});
