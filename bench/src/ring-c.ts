/**
 * The ring with a C peer (bench/c/ring_peer.c, written from RING.md): a TypeScript producer
 * streaming to a C consumer, a C producer streaming to a TypeScript consumer, and a TypeScript
 * ping-pong against a C echo. With C on the other side, each row shows what one TypeScript side
 * costs. The rings live in a System V segment created IPC_PRIVATE and marked for removal as soon
 * as the bench has attached it; each trial lays out fresh rings (a ring has one consumer in its
 * life) and starts the C program again.
 */
import { spawn } from "node:child_process";
import { IPC_PRIVATE, Ring, SharedMemorySegment, type Attachment } from "@linux-ipc/core";
import { pinProcess, placementEnvironment, type Placement } from "./affinity.ts";
import { track } from "./cleanup.ts";
import { monotonicMs } from "./clock.ts";
import { latencySeries, streamSeries, type LatencySeries, type Plan, type PingPongTrial, type StreamSeries, type StreamTrial } from "./measure.ts";
import type { NativePrograms } from "./native.ts";
import { latencySummary } from "./stats.ts";

const CAPACITY = 2 ** 20;
export const RING_C_NAMES = { toC: "ring TS→C", fromC: "ring C→TS", echo: "ring TS⇄C" } as const;

interface CPeer {
  /** Resolves once the C side has attached and printed "ready". */
  ready: Promise<void>;
  /** Resolves with the JSON line it prints last, once it has exited with status 0. */
  result: Promise<Record<string, number>>;
}

function startC(programs: NativePrograms, args: (string | number)[], placement: Placement): CPeer {
  const child = spawn(programs.path("ring_peer"), args.map(String), { env: placementEnvironment(placement), stdio: ["ignore", "pipe", "inherit"] });
  const release = track(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let output = "";
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
    if (output.startsWith("ready\n")) signalReady();
  });
  const result = new Promise<Record<string, number>>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      release();
      if (code !== 0) return reject(new Error(`ring_peer ${args.join(" ")} ended with ${signal ?? `status ${code}`}`));
      try {
        resolve(JSON.parse(output.trim().split("\n").pop() ?? "") as Record<string, number>);
      } catch {
        reject(new Error(`ring_peer ${args.join(" ")} printed no JSON result: '${output}'`));
      }
    });
  });
  return { ready: Promise.race([ready, result.then(() => {})]), result };
}

function cpuSeconds(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** The three rows, in one placement. */
export async function measureRingWithC(programs: NativePrograms, plan: Plan, placement: Placement, progress: (what: string) => void): Promise<{ streams: StreamSeries[]; latency: LatencySeries[] }> {
  const segment = SharedMemorySegment.create(IPC_PRIVATE, 2 * Ring.bytesNeeded(CAPACITY), 0o600);
  let memory: Attachment;
  try {
    memory = segment.attach();
  } finally {
    segment.remove(); // the kernel frees it once the bench and the last C peer have detached
  }
  const detach = track(() => memory.detach());
  if (placement.host !== null) pinProcess(process.pid, [placement.host]);
  const upOffset = Ring.bytesNeeded(CAPACITY);
  const base = (name: string, description: string) => ({ name, family: "core" as const, description, reference: "C spin", placement: placement.name });
  const streams: StreamSeries[] = [];
  const latency: LatencySeries[] = [];
  try {
    for (const size of plan.sizes) {
      progress(`${placement.name}: ${RING_C_NAMES.toC}: streaming ${size} B messages`);
      const message = new Uint8Array(size).fill(0x74);
      const toC = async (count: number): Promise<StreamTrial> => {
        const ring = Ring.create(memory, { capacity: CAPACITY });
        const c = startC(programs, ["consume", segment.id, size, count], placement);
        await c.ready;
        const cpu = process.cpuUsage();
        const start = monotonicMs();
        {
          using writer = ring.writer();
          for (let i = 0; i < count; i++) writer.send(message);
        }
        const hostCpu = cpuSeconds(cpu);
        const { end, cpu: peerCpu } = await c.result;
        return { count, bytes: size * count, seconds: end! - start / 1e3, hostCpu, peerCpu: peerCpu! };
      };
      streams.push(await streamSeries({ ...base(RING_C_NAMES.toC, "core ring: TypeScript producer (send), C consumer (ring_peer.c, copies each message out)"), size }, toC, plan));

      progress(`${placement.name}: ${RING_C_NAMES.fromC}: streaming ${size} B messages`);
      const buffer = new Uint8Array(size);
      const fromC = async (count: number): Promise<StreamTrial> => {
        const ring = Ring.create(memory, { capacity: CAPACITY });
        using reader = ring.reader();
        const c = startC(programs, ["produce", segment.id, size, count], placement);
        await c.ready;
        const cpu = process.cpuUsage();
        for (let i = 0; i < count; i++) {
          const length = reader.receive(buffer);
          if (length !== size) throw new Error(`ring C→TS: a message of ${length} bytes where ${size} were due`);
        }
        const end = monotonicMs();
        const hostCpu = cpuSeconds(cpu);
        const { start, cpu: peerCpu } = await c.result;
        return { count, bytes: size * count, seconds: end / 1e3 - start!, hostCpu, peerCpu: peerCpu! };
      };
      streams.push(await streamSeries({ ...base(RING_C_NAMES.fromC, "core ring: C producer (ring_peer.c, copies each message in), TypeScript consumer (receive)"), size }, fromC, plan));
    }

    progress(`${placement.name}: ${RING_C_NAMES.echo}: ping-pong of ${plan.pingSize} B`);
    const size = plan.pingSize;
    const message = new Uint8Array(size).fill(0x70);
    const buffer = new Uint8Array(size);
    const echo = async (count: number): Promise<PingPongTrial> => {
      const down = Ring.create(memory, { capacity: CAPACITY });
      const up = Ring.create(memory, { capacity: CAPACITY, offset: upOffset });
      using writer = down.writer();
      using reader = up.reader();
      const c = startC(programs, ["echo", segment.id, count, upOffset], placement);
      await c.ready;
      const samples = new Float64Array(count);
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const sent = performance.now();
        writer.send(message);
        if (reader.receive(buffer) !== size) throw new Error("ring TS⇄C: an echo of the wrong size");
        samples[i] = (performance.now() - sent) / 1e3;
      }
      const seconds = (performance.now() - start) / 1e3;
      const hostCpu = cpuSeconds(cpu);
      const { cpu: peerCpu } = await c.result;
      return { count, seconds, ...latencySummary(samples), hostCpu, peerCpu: peerCpu! };
    };
    latency.push(await latencySeries({ ...base(RING_C_NAMES.echo, "core ring: TypeScript send/receive against a C echo (ring_peer.c)"), size }, echo, plan));
    return { streams, latency };
  } finally {
    detach();
  }
}
