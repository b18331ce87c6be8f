/**
 * What another process is doing, read from /proc: which system call it is blocked in and where the
 * kernel put it to sleep, and which descriptors it holds. The programs use it to show a rule ("the
 * writer blocks once the pipe is full") on a real process instead of guessing with a sleep; the tests
 * use it to act once a process (or one of its threads) really sleeps in a futex or semtimedop, and
 * to check for descriptor leaks.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { sleep } from "./timeouts.ts";

/** The few system calls the examples wait in, by number (they differ between architectures). */
const SYSCALL_NAMES: Readonly<Record<string, ReadonlyMap<number, string>>> = {
  x64: new Map([
    [0, "read"],
    [1, "write"],
    [2, "open"],
    [7, "poll"],
    [69, "msgsnd"],
    [70, "msgrcv"],
    [202, "futex"],
    [220, "semtimedop"],
    [242, "mq_timedsend"],
    [243, "mq_timedreceive"],
    [257, "openat"],
    [449, "futex_waitv"],
    [271, "ppoll"],
  ]),
  arm64: new Map([
    [63, "read"],
    [64, "write"],
    [56, "openat"],
    [73, "ppoll"],
    [98, "futex"],
    [182, "mq_timedsend"],
    [183, "mq_timedreceive"],
    [188, "msgrcv"],
    [189, "msgsnd"],
    [192, "semtimedop"],
    [449, "futex_waitv"],
  ]),
};

/** Where a process (or thread) is in the kernel, from /proc. */
export interface KernelWait {
  /** The state letter of /proc/PID/stat: R running, S sleeping (interruptibly), D, T, Z… */
  state: string;
  /** The system call it is in ("read", "write", "openat", "#230" for others), or null when running or in none. */
  syscall: string | null;
  /** The kernel function it sleeps in ("anon_pipe_write", "wait_for_partner"…), "0" when hidden. */
  wchan: string;
  /** The system call's first argument (a descriptor, a futex word's address, a semaphore set's id), or null. */
  firstArgument: bigint | null;
  /** All six argument registers of the system call (empty when in none). */
  arguments: readonly bigint[];
  /** The process id and the thread id it was read from. */
  pid: number;
  tid: number;
}

function readProc(pid: number, tid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/${file}`, "utf8");
  } catch {
    return null;
  }
}

/** Where thread `tid` of process `pid` (default: its main thread) is in the kernel right now; null when it no longer exists. */
export function kernelWait(pid: number, tid = pid): KernelWait | null {
  const stat = readProc(pid, tid, "stat");
  const syscallLine = readProc(pid, tid, "syscall");
  const wchan = readProc(pid, tid, "wchan");
  if (stat === null || syscallLine === null || wchan === null) return null;
  // The command name in parentheses may itself contain spaces and parentheses: the state follows the last ")".
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!;
  const [numberField, ...argumentFields] = syscallLine.trim().split(" ");
  const number = Number(numberField);
  const inCall = Number.isInteger(number) && number >= 0;
  const syscall = inCall ? (SYSCALL_NAMES[process.arch]?.get(number) ?? `#${number}`) : null;
  const args = inCall ? argumentFields.slice(0, 6).map((field) => BigInt(field)) : [];
  return { state, syscall, wchan: wchan.trim(), firstArgument: args[0] ?? null, arguments: args, pid, tid };
}

/**
 * The word addresses a thread sleeping in futex_waitv waits on, read from the array it passed (in
 * /proc/PID/mem, which needs ptrace access: the same user, or root). Empty for any other call.
 */
export function futexWaitvWords(wait: KernelWait): bigint[] {
  if (wait.syscall !== "futex_waitv") return [];
  const [array, count] = wait.arguments as [bigint, bigint];
  // struct futex_waitv is { u64 val; u64 uaddr; u32 flags; u32 __reserved; } (libc/linux/futex.ts).
  const bytes = Buffer.alloc(Number(count) * 24);
  let fd: number;
  try {
    fd = openSync(`/proc/${wait.pid}/mem`, "r");
  } catch {
    return [];
  }
  try {
    readSync(fd, bytes, 0, bytes.length, array);
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
  return Array.from({ length: Number(count) }, (_, index) => bytes.readBigUInt64LE(index * 24 + 8));
}

/** Options of `waitUntilBlocked`. */
export interface WaitUntilBlockedOptions {
  /** Give up after this many milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Look at every thread, not only the main one: an async call sleeps in a thread-pool thread. */
  anyThread?: boolean;
  /** Also require the call's first argument to match (the futex word's address, the semaphore set's id). */
  firstArgument?: (argument: bigint) => boolean;
  /** Also require this of the wait (e.g. `futexWaitvWords(wait).includes(address)`). */
  match?: (wait: KernelWait) => boolean;
}

function threadIds(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

/**
 * Resolves once process `pid` sleeps in one of `syscalls` (e.g. "write" when a full pipe blocks it),
 * looking at /proc every 5 ms. Rejects if the process ends first or the time runs out, saying what
 * it was doing.
 */
export async function waitUntilBlocked(pid: number, syscalls: readonly string[], options: WaitUntilBlockedOptions = {}): Promise<KernelWait> {
  const { timeoutMs = 10_000, signal, anyThread = false, firstArgument = () => true, match = () => true } = options;
  const deadline = Date.now() + timeoutMs;
  const blocked = (wait: KernelWait | null): boolean =>
    wait !== null && wait.state === "S" && wait.syscall !== null && syscalls.includes(wait.syscall) && wait.firstArgument !== null && firstArgument(wait.firstArgument) && match(wait);
  for (;;) {
    const now = kernelWait(pid);
    if (now === null || now.state === "Z") throw new Error(`process ${pid} ended before it blocked in ${syscalls.join("/")}()`);
    if (blocked(now)) return now;
    if (anyThread) {
      const found = threadIds(pid)
        .map((tid) => kernelWait(pid, tid))
        .find(blocked);
      if (found) return found as KernelWait;
    }
    if (Date.now() > deadline) {
      throw new Error(`process ${pid} did not block in ${syscalls.join("/")}() within ${timeoutMs} ms (state ${now.state}, syscall ${now.syscall ?? "none"}, wchan ${now.wchan})`);
    }
    await sleep(5, signal);
  }
}

/**
 * The descriptors process `pid` (default: this one) holds, as "fd -> target" lines sorted by number,
 * for comparing before and after: `3 -> pipe:[12345]`, `4 -> /tmp/x/fifo`.
 */
export function openDescriptors(pid: number | "self" = "self"): string[] {
  const dir = `/proc/${pid}/fd`;
  const entries: Array<[number, string]> = [];
  for (const name of readdirSync(dir)) {
    try {
      entries.push([Number(name), readlinkSync(`${dir}/${name}`)]);
    } catch {
      // closed while we were listing (readdir's own descriptor, for one)
    }
  }
  return entries.sort((a, b) => a[0] - b[0]).map(([fd, target]) => `${fd} -> ${target}`);
}

/** The pids of the children of process `pid` (from /proc/PID/task/*\/children). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const list = readProc(pid, Number(task), "children");
    if (list) children.push(...list.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return children;
}

/**
 * The CPUs process `pid` may run on (its affinity mask, from `Cpus_allowed_list` in
 * /proc/<pid>/status), or an empty list when the process is gone.
 */
export function allowedCpus(pid: number | "self"): number[] {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return [];
  }
  const list = /^Cpus_allowed_list:\s*(.*)$/m.exec(status)?.[1] ?? "";
  return list
    .split(",")
    .filter(Boolean)
    .flatMap((range) => {
      const [first, last = first] = range.split("-").map(Number) as [number, number?];
      return Array.from({ length: last! - first + 1 }, (_, i) => first + i);
    });
}
