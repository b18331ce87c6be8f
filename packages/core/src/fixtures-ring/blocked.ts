// For tests: waits until some thread of process `pid` (or its main thread only) sleeps in system
// call `number` with a first argument that `matches` (read from /proc/<pid>/task/<tid>/syscall), so a
// test acts only once the other process is really asleep in the kernel, without sleeping itself.
import { readdirSync, readFileSync } from "node:fs";

export const SYS_semtimedop = process.arch === "x64" ? 220 : 192;

function sleepingIn(pid: number, number: number, matches: (argument: bigint) => boolean, mainThreadOnly: boolean): boolean {
  let tasks: string[];
  try {
    tasks = mainThreadOnly ? [String(pid)] : readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tasks.some((tid) => {
    let fields: string[];
    try {
      fields = readFileSync(`/proc/${pid}/task/${tid}/syscall`, "utf8").trim().split(" ");
    } catch {
      return false;
    }
    return Number(fields[0]) === number && fields[1] !== undefined && matches(BigInt(fields[1]));
  });
}

export async function waitUntilBlocked(pid: number, number: number, matches: (argument: bigint) => boolean, options: { mainThreadOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  while (!sleepingIn(pid, number, matches, options.mainThreadOnly ?? false)) {
    if (Date.now() > end) throw new Error(`process ${pid} did not go to sleep in system call ${number} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
