/** What the numbers were measured on: they mean little without it. */
import { execFileSync } from "node:child_process";
import { cpus, availableParallelism, loadavg, release, totalmem, type } from "node:os";
import { koffi } from "@linux-ipc/core/libc";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  koffi: string;
  compiler: string | null;
  /** `lscpu -e` (which CPU is which core, socket and cache), or null where lscpu is missing. */
  topology?: string | null;
  /** 1-minute load average when the run started and when it ended: other load skews every figure. */
  loadAverage: { start: number; end: number | null };
}

export function describeMachine(compiler: string | null): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${type()} ${release()}`,
    node: process.version,
    koffi: (koffi as unknown as { version: string }).version,
    compiler,
    topology: cpuTopology(),
    loadAverage: { start: loadavg()[0]!, end: null },
  };
}

function cpuTopology(): string | null {
  try {
    return execFileSync("lscpu", ["-e"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return null;
  }
}

export function finishMachine(machine: Machine): void {
  machine.loadAverage.end = loadavg()[0]!;
}
