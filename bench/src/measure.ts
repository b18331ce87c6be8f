/**
 * How every figure is taken: calibrate the number of messages (or round trips) until one trial lasts
 * about `trialSeconds` (the calibration trials also warm up the JIT and the caches, and are thrown
 * away), then run `repeats` trials of that size and keep each one.
 */
import { pinProcess, placementEnvironment, type Placement, type PlacementName } from "./affinity.ts";
import type { NativePrograms } from "./native.ts";
import { isStamped, type HostContext, type Mechanism } from "./mechanisms/types.ts";
import { latencySummary, spread, type Spread } from "./stats.ts";

export interface Plan {
  /** How long one trial should last. */
  trialSeconds: number;
  repeats: number;
  /** Message sizes of the streaming measures. */
  sizes: readonly number[];
  /** Message size of the ping-pong. */
  pingSize: number;
  /** At least this many round trips per ping-pong trial, so the p99 rests on more than a few samples. */
  minRoundTrips: number;
}

export type Family = "core" | "node" | "c";

export interface StreamTrial {
  count: number;
  bytes: number;
  seconds: number;
  /** CPU seconds of the receiving side (the bench) and of the sending side (the peer). */
  hostCpu: number;
  peerCpu: number;
}

export interface PingPongTrial {
  count: number;
  seconds: number;
  /** Round-trip times, seconds. */
  median: number;
  p99: number;
  p999: number;
  /** One-way times (where the mechanism measures them): bench → peer and peer → bench, seconds. */
  oneWay?: { out: OneWayTrial; back: OneWayTrial };
  hostCpu: number;
  peerCpu: number;
}

export interface OneWayTrial {
  median: number;
  p99: number;
  p999: number;
}

/** Percentiles of one-way times over the trials. */
export interface OneWaySpread {
  median: Spread;
  p99: Spread;
  p999: Spread;
}

interface SeriesBase {
  name: string;
  family: Family;
  description: string;
  /** The C series this one is read against (absent for the C series themselves). */
  reference?: string;
  size: number;
  /** Where the two sides ran. */
  placement: PlacementName;
}

export interface StreamSeries extends SeriesBase {
  trials: StreamTrial[];
  /** Bytes per second. */
  throughput: Spread;
  /** CPU seconds of both sides per gigabyte moved. */
  cpuPerGigabyte: Spread;
}

export interface LatencySeries extends SeriesBase {
  trials: PingPongTrial[];
  /** Per trial median, p99 and p99.9 round trip, seconds. */
  median: Spread;
  p99: Spread;
  p999: Spread;
  /** Per trial one-way percentiles, where measured. */
  oneWay?: { out: OneWaySpread; back: OneWaySpread };
  /** CPU seconds of both sides per round trip. */
  cpuPerRoundTrip: Spread;
}

type Trial<T> = (count: number) => Promise<T>;

/**
 * Grows the count until a trial lasts at least half the target, then sizes it to the target at the
 * best rate seen: a trial slowed by other load must not shrink every trial after it.
 */
async function calibrate(trial: Trial<{ seconds: number }>, firstCount: number, targetSeconds: number): Promise<number> {
  let count = firstCount;
  let bestRate = 0;
  for (let attempt = 0; ; attempt++) {
    const seconds = Math.max((await trial(count)).seconds, 1e-6);
    // Trials of a few milliseconds say more about the timer and the scheduler than about the rate.
    if (seconds >= Math.min(0.005, targetSeconds / 4)) bestRate = Math.max(bestRate, count / seconds);
    if ((seconds >= targetSeconds / 2 && bestRate > 0) || attempt === 16) return Math.max(1, Math.round((bestRate || count / seconds) * targetSeconds));
    count = Math.ceil(count * Math.min(32, Math.max(2, (0.6 * targetSeconds) / seconds)));
  }
}

async function repeat<T>(trial: Trial<T>, count: number, repeats: number): Promise<T[]> {
  const trials: T[] = [];
  for (let i = 0; i < repeats; i++) trials.push(await trial(count));
  return trials;
}

export async function streamSeries(base: SeriesBase, trial: Trial<StreamTrial>, plan: Plan): Promise<StreamSeries> {
  const count = await calibrate(trial, Math.max(16, Math.ceil(262_144 / base.size)), plan.trialSeconds);
  const trials = await repeat(trial, count, plan.repeats);
  return {
    ...base,
    trials,
    throughput: spread(trials.map((t) => t.bytes / t.seconds)),
    cpuPerGigabyte: spread(trials.map((t) => ((t.hostCpu + t.peerCpu) / t.bytes) * 1e9)),
  };
}

export async function latencySeries(base: SeriesBase, trial: Trial<PingPongTrial>, plan: Plan): Promise<LatencySeries> {
  const count = await calibrate(trial, 200, plan.trialSeconds);
  const trials = await repeat(trial, Math.max(count, plan.minRoundTrips), plan.repeats);
  return {
    ...base,
    trials,
    median: spread(trials.map((t) => t.median)),
    p99: spread(trials.map((t) => t.p99)),
    p999: spread(trials.map((t) => t.p999)),
    ...oneWaySpreads(trials),
    cpuPerRoundTrip: spread(trials.map((t) => (t.hostCpu + t.peerCpu) / t.count)),
  };
}

function oneWaySpreads(trials: PingPongTrial[]): { oneWay?: { out: OneWaySpread; back: OneWaySpread } } {
  if (!trials.every((t) => t.oneWay !== undefined)) return {};
  const of = (direction: "out" | "back"): OneWaySpread => ({
    median: spread(trials.map((t) => t.oneWay![direction].median)),
    p99: spread(trials.map((t) => t.oneWay![direction].p99)),
    p999: spread(trials.map((t) => t.oneWay![direction].p999)),
  });
  return { oneWay: { out: of("out"), back: of("back") } };
}

function cpuSeconds(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

export const referenceNames = { pipe: "C pipe", socket: "C socket", seqpacket: "C seqpacket", spin: "C spin", futex: "C futex", msg: "C msgq", mq: "C mq" } as const;

/** The largest message the C message-queue references send (the default msgmax and msgsize_max). */
const QUEUE_MESSAGE_LIMIT = 8192;

/**
 * Every measure of one TypeScript mechanism, in each placement, with one peer process for all of
 * them: the bench and the peer are pinned again before each placement's measures.
 */
export async function measureMechanism(
  mechanism: Mechanism,
  context: HostContext,
  plan: Plan,
  placements: readonly Placement[],
  progress: (what: string) => void,
): Promise<{ streams: StreamSeries[]; latency: LatencySeries[] }> {
  const { peer, end } = await mechanism.start(context);
  const streams: StreamSeries[] = [];
  const latency: LatencySeries[] = [];
  try {
    for (const placement of placements) {
      if (placement.host !== null) pinProcess(process.pid, [placement.host]);
      if (placement.peer !== null) pinProcess(peer.pid, [placement.peer]);
      const base = {
        name: mechanism.name,
        family: mechanism.family,
        description: mechanism.description,
        reference: referenceNames[mechanism.reference],
        placement: placement.name,
      };
      for (const size of plan.sizes.filter((candidate) => candidate <= (mechanism.maxMessageSize ?? Infinity))) {
        progress(`${placement.name}: ${mechanism.name}: streaming ${size} B messages`);
        const trial = async (count: number): Promise<StreamTrial> => {
          const cpu = process.cpuUsage();
          const start = performance.now();
          peer.command({ op: "send", size, count });
          await end.receive(size, count);
          const seconds = (performance.now() - start) / 1e3;
          const hostCpu = cpuSeconds(cpu);
          return { count, bytes: size * count, seconds, hostCpu, peerCpu: await peer.done() };
        };
        streams.push(await streamSeries({ ...base, size }, trial, plan));
      }
      progress(`${placement.name}: ${mechanism.name}: ping-pong of ${plan.pingSize} B`);
      const size = plan.pingSize;
      const trial = async (count: number): Promise<PingPongTrial> => {
        const samples = new Float64Array(count);
        const oneWay = end.measuresOneWay ? { out: new Float64Array(count), back: new Float64Array(count) } : undefined;
        const cpu = process.cpuUsage();
        const start = performance.now();
        peer.command({ op: "echo", size, count });
        await end.pingPong(size, count, samples, oneWay);
        const seconds = (performance.now() - start) / 1e3;
        const hostCpu = cpuSeconds(cpu);
        if (oneWay === undefined) return { count, seconds, ...latencySummary(samples), hostCpu, peerCpu: await peer.done() };
        const stamped = (from: Float64Array): Float64Array => from.filter((_, i) => isStamped(i));
        const roundTrips = samples.filter((_, i) => !isStamped(i));
        const directions = { oneWay: { out: latencySummary(stamped(oneWay.out)), back: latencySummary(stamped(oneWay.back)) } };
        return { count, seconds, ...latencySummary(roundTrips), ...directions, hostCpu, peerCpu: await peer.done() };
      };
      const latencyReference = referenceNames[mechanism.latencyReference ?? mechanism.reference];
      latency.push(await latencySeries({ ...base, size, reference: latencyReference }, trial, plan));
    }
    return { streams, latency };
  } finally {
    try {
      await peer.stop();
    } finally {
      await end.close();
    }
  }
}

/** The C references' streaming and ping-pong series. */
export async function measureReferences(programs: NativePrograms, plan: Plan, placement: Placement, progress: (what: string) => void): Promise<{ streams: StreamSeries[]; latency: LatencySeries[] }> {
  const env = placementEnvironment(placement);
  const streams: StreamSeries[] = [];
  const latency: LatencySeries[] = [];
  const stream =
    (program: "pipe" | "unix_socket" | "spin" | "msg_queue" | "posix_mq", name: string, description: string, extraEnv: NodeJS.ProcessEnv = {}, maxSize = Infinity) =>
    async (): Promise<void> => {
      for (const size of plan.sizes.filter((candidate) => candidate <= maxSize)) {
        progress(`${placement.name}: ${name}: streaming ${size} B messages`);
        const trial = (count: number): Promise<StreamTrial> => programs.json<StreamTrial>(program, ["stream", size, count], { ...env, ...extraEnv });
        streams.push(await streamSeries({ name, family: "c", description, size, placement: placement.name }, trial, plan));
      }
    };
  const pingPong =
    (program: "pipe" | "unix_socket" | "spin" | "futex_pingpong" | "msg_queue" | "posix_mq", name: string, description: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    async (): Promise<void> => {
      progress(`${placement.name}: ${name}: ping-pong of ${plan.pingSize} B`);
      const args = (count: number): (string | number)[] => (program === "futex_pingpong" ? [plan.pingSize, count] : ["pingpong", plan.pingSize, count]);
      const trial = (count: number): Promise<PingPongTrial> => programs.json<PingPongTrial>(program, args(count), { ...env, ...extraEnv });
      latency.push(await latencySeries({ name, family: "c", description, size: plan.pingSize, placement: placement.name }, trial, plan));
    };
  await stream("pipe", referenceNames.pipe, "C: pipe(2) between parent and forked child, blocking read/write")();
  await stream("unix_socket", referenceNames.socket, "C: a SOCK_STREAM socketpair between parent and forked child, blocking read/write", { BENCH_SOCKET_TYPE: "stream" })();
  await stream("unix_socket", referenceNames.seqpacket, "C: a SOCK_SEQPACKET socketpair, one record per write and per read", { BENCH_SOCKET_TYPE: "seqpacket" })();
  await stream("spin", referenceNames.spin, "C: SPSC ring in MAP_SHARED memory, 1 MiB, spinning waits (pause, then sched_yield)")();
  await pingPong("pipe", referenceNames.pipe, "C: two pipes, blocking read/write")();
  await pingPong("unix_socket", referenceNames.socket, "C: one SOCK_STREAM socketpair, blocking read/write", { BENCH_SOCKET_TYPE: "stream" })();
  await pingPong("unix_socket", referenceNames.seqpacket, "C: one SOCK_SEQPACKET socketpair, blocking read/write", { BENCH_SOCKET_TYPE: "seqpacket" })();
  await pingPong("futex_pingpong", referenceNames.futex, "C: shared memory, each side sleeps on a futex until handed the turn")();
  await pingPong("spin", referenceNames.spin, "C: shared memory, each side spins on an atomic turn word")();
  await stream("msg_queue", referenceNames.msg, "C: one System V message queue, a type each way, blocking msgsnd/msgrcv", {}, QUEUE_MESSAGE_LIMIT)();
  await pingPong("msg_queue", referenceNames.msg, "C: one System V message queue, a type each way, blocking msgsnd/msgrcv")();
  await stream("posix_mq", referenceNames.mq, "C: two POSIX message queues (one each way), blocking mq_send/mq_receive", {}, QUEUE_MESSAGE_LIMIT)();
  await pingPong("posix_mq", referenceNames.mq, "C: two POSIX message queues (one each way), blocking mq_send/mq_receive")();
  return { streams, latency };
}
