/**
 * Where the two sides of a measure run. On this kind of machine (2 virtual CPUs) it decides the
 * result more than the mechanism does: a side that sleeps and is woken from the other CPU costs tens
 * of microseconds (the wake-up crosses to another CPU), one woken on its own CPU a few; a side that
 * spins needs a CPU of its own. So every IPC measure runs with both sides pinned, once on one CPU and
 * once on two, unless told otherwise.
 *
 * Pinning is sched_setaffinity(2) on every thread of a process (a node process has several; threads
 * it makes later inherit the pin from the thread that makes them).
 */
import { readdirSync } from "node:fs";
import { libc } from "@linux-ipc/core/libc";
import { errnoError } from "@linux-ipc/core";

/** cpu_set_t of glibc: 1024 bits. */
const CPU_SET_BYTES = 128;

const sched_setaffinity = libc.func("int sched_setaffinity(int pid, size_t cpusetsize, const uint8_t *mask)");
const sched_getaffinity = libc.func("int sched_getaffinity(int pid, size_t cpusetsize, _Out_ uint8_t *mask)");

export type PlacementName = "1 CPU" | "2 CPUs" | "unpinned";

export interface Placement {
  name: PlacementName;
  /** The CPU of the bench's side and of the peer's side (null: the scheduler decides). */
  host: number | null;
  peer: number | null;
}

/** The CPUs this process may run on. */
export function allowedCpus(): number[] {
  const mask = new Uint8Array(CPU_SET_BYTES);
  if ((sched_getaffinity(0, CPU_SET_BYTES, mask) as number) < 0) throw errnoError("sched_getaffinity");
  const cpus: number[] = [];
  for (let cpu = 0; cpu < CPU_SET_BYTES * 8; cpu++) if ((mask[cpu >> 3]! >> (cpu & 7)) & 1) cpus.push(cpu);
  return cpus;
}

/** Pins every thread of process `pid` to `cpus`. */
export function pinProcess(pid: number, cpus: readonly number[]): void {
  const mask = new Uint8Array(CPU_SET_BYTES);
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    if ((sched_setaffinity(Number(task), CPU_SET_BYTES, mask) as number) < 0) {
      const error = errnoError("sched_setaffinity", { path: `task ${task} of pid ${pid}` });
      if (error.code !== "ESRCH") throw error; // a thread that ended meanwhile
    }
  }
}

/** The placements a run measures, from --placement and the CPUs available. */
export function placements(wanted: "both" | "one-cpu" | "two-cpus" | "unpinned", cpus: readonly number[], notes: string[]): Placement[] {
  const [first, second] = cpus;
  if (wanted === "unpinned" || first === undefined) return [{ name: "unpinned", host: null, peer: null }];
  const one: Placement = { name: "1 CPU", host: first, peer: first };
  if (second === undefined) {
    if (wanted !== "one-cpu") notes.push(`only CPU ${first} is available: the two-CPU placement is skipped`);
    return [one];
  }
  const two: Placement = { name: "2 CPUs", host: first, peer: second };
  return wanted === "one-cpu" ? [one] : wanted === "two-cpus" ? [two] : [two, one];
}

/** BENCH_CPUS for the C references, which pin their parent and forked child the same way. */
export function placementEnvironment(placement: Placement): NodeJS.ProcessEnv {
  return placement.host === null ? process.env : { ...process.env, BENCH_CPUS: `${placement.host},${placement.peer}` };
}

/** Pins the calling thread (a worker_thread, say) to `cpu`: sched_setaffinity(0, …) acts on the caller only. */
export function pinThisThread(cpu: number): void {
  const mask = new Uint8Array(CPU_SET_BYTES);
  mask[cpu >> 3]! |= 1 << (cpu & 7);
  if ((sched_setaffinity(0, CPU_SET_BYTES, mask) as number) < 0) throw errnoError("sched_setaffinity");
}
