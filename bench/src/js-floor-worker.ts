/**
 * One side of the JavaScript floor (js-floor.ts), in a worker_thread: ping-pongs `size` bytes with
 * the other worker through a SharedArrayBuffer, each side spinning on Atomics.load of the turn word
 * (and yielding the CPU after a while, as the C spin reference does). The "ping" side times each
 * round trip and posts the samples back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { libc } from "@linux-ipc/core/libc";
import { pinThisThread } from "./affinity.ts";

interface Start {
  side: "ping" | "pong";
  shared: SharedArrayBuffer;
  cpu: number | null;
}
interface Round {
  size: number;
  count: number;
}

const sched_yield = libc.func("int sched_yield(void)");
const SPINS_BEFORE_YIELD = 1024;
const TURN = 0;
/** The message starts a cache line after the turn word. */
const DATA = 64;

const { side, shared, cpu } = workerData as Start;
if (cpu !== null) pinThisThread(cpu);
const turn = new Int32Array(shared, 0, 16);
const data = new Uint8Array(shared, DATA);
const port = parentPort!;

function waitFor(value: number): void {
  let spins = 0;
  while (Atomics.load(turn, TURN) !== value) {
    if (++spins === SPINS_BEFORE_YIELD) {
      spins = 0;
      sched_yield();
    }
  }
}

port.on("message", ({ size, count }: Round) => {
  const local = new Uint8Array(size).fill(side === "ping" ? 0x70 : 0x78);
  // Made once: a subarray made per message would time the allocation, which a floor leaves out.
  const message = data.subarray(0, size);
  if (side === "pong") {
    for (let i = 0; i < count; i++) {
      waitFor(1);
      local.set(message);
      data.set(local);
      Atomics.store(turn, TURN, 0);
    }
    port.postMessage(null);
    return;
  }
  const samples = new Float64Array(count);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const sent = performance.now();
    data.set(local);
    Atomics.store(turn, TURN, 1);
    waitFor(0);
    local.set(message);
    samples[i] = (performance.now() - sent) / 1e3;
  }
  const seconds = (performance.now() - start) / 1e3;
  port.postMessage({ samples, seconds, cpu: process.cpuUsage(cpu) }, [samples.buffer]);
});
