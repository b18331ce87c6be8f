/**
 * The JavaScript floor: two worker_threads of the bench's own process ping-pong 64 bytes through a
 * SharedArrayBuffer, each spinning on Atomics.load, with no IPC object, no second process and no
 * library in between. Read against C spin, it shows how much of a ring's round trip JavaScript
 * itself costs (Atomics calls, typed-array copies, the timer) on this machine.
 */
import { Worker } from "node:worker_threads";
import type { Placement } from "./affinity.ts";
import { latencySeries, type LatencySeries, type Plan, type PingPongTrial } from "./measure.ts";
import { latencySummary } from "./stats.ts";

export const JS_FLOOR_NAME = "JS floor";
const worker = new URL("./js-floor-worker.js", import.meta.url);

function start(side: "ping" | "pong", shared: SharedArrayBuffer, cpu: number | null): Worker {
  return new Worker(worker, { workerData: { side, shared, cpu }, execArgv: [] });
}

function next<T>(from: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error): void => reject(error);
    from.once("error", fail);
    from.once("message", (message: T) => {
      from.off("error", fail);
      resolve(message);
    });
  });
}

export async function measureJsFloor(plan: Plan, placement: Placement, progress: (what: string) => void): Promise<LatencySeries> {
  progress(`${placement.name}: ${JS_FLOOR_NAME}: ping-pong of ${plan.pingSize} B`);
  const shared = new SharedArrayBuffer(64 + plan.pingSize);
  const ping = start("ping", shared, placement.host);
  const pong = start("pong", shared, placement.peer);
  try {
    const trial = async (count: number): Promise<PingPongTrial> => {
      const done = Promise.all([next<{ samples: Float64Array; seconds: number; cpu: NodeJS.CpuUsage }>(ping), next<null>(pong)]);
      pong.postMessage({ size: plan.pingSize, count });
      ping.postMessage({ size: plan.pingSize, count });
      const [{ samples, seconds, cpu }] = await done;
      // process.cpuUsage counts the whole process: both workers are in it, so it is both sides.
      return { count, seconds, ...latencySummary(samples), hostCpu: (cpu.user + cpu.system) / 1e6, peerCpu: 0 };
    };
    return await latencySeries(
      {
        name: JS_FLOOR_NAME,
        family: "node",
        description: "two worker_threads of one process: 64 B through a SharedArrayBuffer, each side spinning on Atomics.load (sched_yield after 1024 spins)",
        reference: "C spin",
        size: plan.pingSize,
        placement: placement.name,
      },
      trial,
      plan,
    );
  } finally {
    await Promise.all([ping.terminate(), pong.terminate()]);
  }
}
