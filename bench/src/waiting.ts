/**
 * The waiting section: what core's async waits cost the rest of a program, measured in the bench
 * process itself.
 *
 * - Event loop under load: `fs.promises.readFile` of a small file and a `setImmediate` round, each
 *   timed one at a time, with no wait pending and with PENDING_TOTAL async waits pending (POSIX
 *   semaphores, futex words, ring readers and a few System V semaphores, all in this process). The
 *   waits are then resolved by posting everything: each must resolve then, and none before.
 * - Uncontended waits: an async acquire that finds the semaphore free against the sync one, in a
 *   loop of acquire + release, batches of the two alternating.
 *
 * The round trips between two processes with both sides awaiting are mechanisms of the ipc part
 * (WAITING_MECHANISMS), measured like every other and read against C's futex ping-pong and the
 * blocking pipe of the same run.
 */
import { setMaxListeners } from "node:events";
import { readdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  FutexWord,
  IPC_PRIVATE,
  MAP_ANONYMOUS,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  Ring,
  SemaphoreSet,
  UnnamedSemaphore,
  mmap,
  sleep,
  type Mapping,
  type RingReader,
  type RingWriter,
} from "@linux-ipc/core";
import { track } from "./cleanup.ts";
import type { Plan } from "./measure.ts";
import { latencySummary, spread, type Spread } from "./stats.ts";

/**
 * The mechanisms whose round trips this section reads: the async ones, and the blocking forms of
 * the same pipe and ring beside them, so that what waiting asynchronously costs shows in one run.
 */
export const WAITING_MECHANISMS = ["pipe", "pipe-readAsync", "ring-memfd", "ring-memfd-sleep", "ring-memfd-async", "ring-memfd-async-sleep", "sem-sysv-async"];

/**
 * The waits pending at once. System V semaphores are a few: each pending one holds a thread of its
 * own, and past 16 core polls them on timers instead (blocking_waiter.ts).
 */
export const PENDING = { posix: 400, futex: 400, ring: 192, sysv: 8 } as const;
export const PENDING_TOTAL = PENDING.posix + PENDING.futex + PENDING.ring + PENDING.sysv;

const SMALL_FILE_BYTES = 1024;
const MESSAGE_BYTES = 64;
/** A small ring that takes a 64-byte message (and its 8-byte record header): one for each pending ring reader. */
const RING_CAPACITY = 128;
const SEM_T_BYTES = 32;
/** How long the posts may take to resolve every wait before the measure fails. */
const RESOLVE_TIMEOUT_MS = 10_000;

export type LoopCondition = "idle" | "pending";

export interface LoopTrial {
  /** Operations timed (fewer than asked when the trial ran out of time). */
  count: number;
  seconds: number;
  /** Median and p99 of the operations' times, seconds. */
  median: number;
  p99: number;
}

export interface LoopSeries {
  operation: "readFile" | "setImmediate";
  description: string;
  condition: LoopCondition;
  trials: LoopTrial[];
  median: Spread;
  p99: Spread;
}

export interface UncontendedSeries {
  /** The kind of semaphore: the sync and async forms of one kind are read against each other. */
  group: "System V" | "POSIX";
  name: string;
  form: "sync" | "async";
  description: string;
  /** Seconds per acquire + release pair, one value per batch. */
  perPair: Spread;
  batches: number[];
  pairsPerBatch: number;
}

export interface WaitingResults {
  pending: typeof PENDING;
  loop: LoopSeries[];
  /** Milliseconds from the first post until every pending wait had resolved, one value per round. */
  resolveMs: Spread;
  /**
   * Threads and resident memory the first round's waits added to the process, once pending: the
   * waiter threads core started (later rounds reuse them).
   */
  added: { threads: number; rssBytes: number };
  uncontended: UncontendedSeries[];
}

interface Operation {
  operation: LoopSeries["operation"];
  description: string;
  run: () => Promise<void>;
}

function operations(file: string): Operation[] {
  return [
    {
      operation: "readFile",
      description: `fs.promises.readFile of a ${SMALL_FILE_BYTES} B file (libuv's thread pool)`,
      run: async () => {
        const bytes = await readFile(file);
        if (bytes.byteLength !== SMALL_FILE_BYTES) throw new Error(`read ${bytes.byteLength} bytes of a ${SMALL_FILE_BYTES}-byte file`);
      },
    },
    {
      operation: "setImmediate",
      description: "await a promise resolved by setImmediate: one turn of the event loop",
      run: () => new Promise<void>((resolve) => setImmediate(resolve)),
    },
  ];
}

/** Times `count` operations one after the other; stops early past `limitSeconds` (a loop made very slow). */
async function loopTrial(run: () => Promise<void>, count: number, limitSeconds: number): Promise<LoopTrial> {
  const samples = new Float64Array(count);
  const start = performance.now();
  const limit = start + limitSeconds * 1e3;
  let done = 0;
  while (done < count) {
    const before = performance.now();
    await run();
    const after = performance.now();
    samples[done++] = (after - before) / 1e3;
    if (after > limit) break;
  }
  return { count: done, seconds: (performance.now() - start) / 1e3, ...latencySummary(samples.subarray(0, done)) };
}

/** Operations per trial so that an idle trial lasts about `trialSeconds` (the first runs warm up). */
async function countFor(run: () => Promise<void>, trialSeconds: number): Promise<number> {
  await loopTrial(run, 100, trialSeconds);
  const probe = await loopTrial(run, 500, trialSeconds);
  return Math.max(200, Math.round((trialSeconds / probe.seconds) * probe.count));
}

/** The waits pending in this process, and how to resolve them. */
interface PendingWaits {
  /** How many have settled so far (resolved or rejected). */
  settled(): number;
  /** Posts to every object and waits until every wait has resolved: milliseconds from the first post. */
  resolveAll(): Promise<number>;
  /** Ends the waits still pending and releases every object. */
  release(): Promise<void>;
}

/**
 * Starts PENDING_TOTAL waits on objects in one anonymous shared mapping (and one System V set), as a
 * server with that many waiting clients would have them: each on its own semaphore, word or ring.
 */
async function startPendingWaits(): Promise<PendingWaits> {
  const ringBytes = Ring.bytesNeeded(RING_CAPACITY);
  const futexStart = PENDING.posix * SEM_T_BYTES;
  // Rings start at a multiple of 64.
  const ringStart = Math.ceil((futexStart + PENDING.futex * 4) / 64) * 64;
  const mapping: Mapping = mmap(ringStart + PENDING.ring * ringBytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  const untrackMapping = track(() => mapping.unmap());
  const set = SemaphoreSet.create(IPC_PRIVATE, PENDING.sysv, 0, 0o600);
  const removeSet = track(() => set.remove());
  const semaphores = Array.from({ length: PENDING.posix }, (_, i) => UnnamedSemaphore.init(mapping, i * SEM_T_BYTES, 0));
  const words = Array.from({ length: PENDING.futex }, (_, i) => new FutexWord(mapping, futexStart + i * 4));
  const rings: { reader: RingReader; writer: RingWriter }[] = [];
  for (let i = 0; i < PENDING.ring; i++) {
    const ring = Ring.create(mapping, { capacity: RING_CAPACITY, offset: ringStart + i * ringBytes });
    rings.push({ reader: ring.reader(), writer: ring.writer() });
  }

  const stop = new AbortController();
  const { signal } = stop;
  // Every pending wait listens on it: past Node's default of 10 listeners, that is no leak here.
  setMaxListeners(0, signal);
  const noUndo = { undo: false, signal } as const;
  let settled = 0;
  const counted = (wait: Promise<unknown>): Promise<unknown> => wait.finally(() => settled++);
  const waits = [
    ...semaphores.map((semaphore) => counted(semaphore.waitAsync({ signal }))),
    ...words.map((word) =>
      counted(
        (async () => {
          // As a caller would: a wake-up that finds the word unchanged is no reason to return.
          while (word.load() === 0) await word.waitAsync(0, { signal });
        })(),
      ),
    ),
    ...rings.map(({ reader }) =>
      counted(
        reader.receiveAsync(new Uint8Array(MESSAGE_BYTES), { signal }).then((length) => {
          if (length !== MESSAGE_BYTES) throw new Error(`a ring reader received ${length} bytes where ${MESSAGE_BYTES} were sent`);
        }),
      ),
    ),
    ...Array.from({ length: PENDING.sysv }, (_, num) => counted(set.acquireAsync(num, 1, noUndo))),
  ];
  // A wait that fails before resolveAll or release looks at it must not end the run as an unhandled rejection.
  for (const wait of waits) wait.catch(() => {});

  const release = async (): Promise<void> => {
    stop.abort();
    await Promise.allSettled(waits);
    for (const { reader, writer } of rings) {
      reader.close();
      writer.close();
    }
    for (const semaphore of semaphores) semaphore.destroy();
    removeSet();
    untrackMapping();
  };

  // The System V waits are pending once their threads sleep in semop (GETNCNT counts them): by then
  // the word waits, started before them, have had their threads started too.
  try {
    for (const deadline = performance.now() + RESOLVE_TIMEOUT_MS; ; ) {
      let sleeping = 0;
      for (let num = 0; num < PENDING.sysv; num++) sleeping += set.waitingCount(num);
      if (sleeping === PENDING.sysv) break;
      if (performance.now() > deadline) throw new Error(`only ${sleeping} of ${PENDING.sysv} System V waits were sleeping after ${RESOLVE_TIMEOUT_MS} ms`);
      await sleep(5);
    }
  } catch (error) {
    await release();
    throw error;
  }

  return {
    settled: () => settled,
    async resolveAll() {
      const message = new Uint8Array(MESSAGE_BYTES).fill(0x61);
      const start = performance.now();
      for (const semaphore of semaphores) semaphore.post();
      for (const word of words) {
        word.store(1);
        word.wake();
      }
      for (const { writer } of rings) writer.send(message);
      for (let num = 0; num < PENDING.sysv; num++) set.release(num, 1, { undo: false });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${PENDING_TOTAL - settled} of ${PENDING_TOTAL} waits were still pending ${RESOLVE_TIMEOUT_MS} ms after the posts`)), RESOLVE_TIMEOUT_MS);
      });
      try {
        await Promise.race([Promise.all(waits), timeout]);
      } finally {
        clearTimeout(timer);
      }
      const elapsed = performance.now() - start;
      const taken = semaphores.filter((semaphore) => semaphore.value !== 0).length + set.getAll().filter((value) => value !== 0).length;
      if (taken !== 0) throw new Error(`${taken} semaphores still had a value after their waits resolved: a post went to no wait`);
      return elapsed;
    },
    release,
  };
}

type Loop = (pairs: number) => void | Promise<void>;

interface Contender {
  name: string;
  form: "sync" | "async";
  description: string;
  loop: Loop;
}

/** Seconds per pair of `loop` over `pairs` pairs. */
async function timeBatch(loop: Loop, pairs: number): Promise<number> {
  const start = performance.now();
  await loop(pairs);
  return (performance.now() - start) / 1e3 / pairs;
}

/** Pairs per batch so that one batch lasts about `seconds`. */
async function pairsFor(loop: Loop, seconds: number): Promise<number> {
  for (let pairs = 1000; ; pairs *= 4) {
    const perPair = await timeBatch(loop, pairs);
    if (perPair * pairs >= seconds / 4) return Math.max(1000, Math.round(seconds / perPair));
  }
}

async function measureUncontended(plan: Plan, progress: (what: string) => void): Promise<UncontendedSeries[]> {
  const set = SemaphoreSet.create(IPC_PRIVATE, 1, 1, 0o600);
  const removeSet = track(() => set.remove());
  const mapping = mmap(SEM_T_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  const unmap = track(() => mapping.unmap());
  const semaphore = UnnamedSemaphore.init(mapping, 0, 1);
  const noUndo = { undo: false } as const;
  // One loop per contender, written out: a shared loop calling a closure would add its own cost.
  const groups: { group: UncontendedSeries["group"]; contenders: Contender[] }[] = [
    {
      group: "System V",
      contenders: [
        {
          name: "acquire + release",
          form: "sync",
          description: "SemaphoreSet acquire(0, 1, { undo: false }) then release (one semop each)",
          loop: (pairs) => {
            for (let i = 0; i < pairs; i++) {
              set.acquire(0, 1, noUndo);
              set.release(0, 1, noUndo);
            }
          },
        },
        {
          name: "acquireAsync + release",
          form: "async",
          description: "await SemaphoreSet acquireAsync(0, 1, { undo: false }) then release",
          loop: async (pairs) => {
            for (let i = 0; i < pairs; i++) {
              await set.acquireAsync(0, 1, noUndo);
              set.release(0, 1, noUndo);
            }
          },
        },
      ],
    },
    {
      group: "POSIX",
      contenders: [
        {
          name: "wait + post",
          form: "sync",
          description: "UnnamedSemaphore wait() then post() (sem_wait, sem_post)",
          loop: (pairs) => {
            for (let i = 0; i < pairs; i++) {
              semaphore.wait();
              semaphore.post();
            }
          },
        },
        {
          name: "waitAsync + post",
          form: "async",
          description: "await UnnamedSemaphore waitAsync() then post()",
          loop: async (pairs) => {
            for (let i = 0; i < pairs; i++) {
              await semaphore.waitAsync();
              semaphore.post();
            }
          },
        },
      ],
    },
  ];
  const batchSeconds = plan.trialSeconds / 2;
  const results: UncontendedSeries[] = [];
  try {
    for (const { group, contenders } of groups) {
      progress(`waiting: uncontended ${group} semaphore, sync and async`);
      let pairs = 0;
      for (const contender of contenders) pairs = Math.max(pairs, await pairsFor(contender.loop, batchSeconds));
      const batches = contenders.map(() => [] as number[]);
      // Alternating batches: drift in the machine's load touches both forms alike.
      for (let r = 0; r < plan.repeats; r++) {
        for (const [index, contender] of contenders.entries()) batches[index]!.push(await timeBatch(contender.loop, pairs));
      }
      contenders.forEach((contender, index) => {
        const { loop: _loop, ...about } = contender;
        results.push({ group, ...about, perPair: spread(batches[index]!), batches: batches[index]!, pairsPerBatch: pairs });
      });
    }
  } finally {
    semaphore.destroy();
    unmap();
    removeSet();
  }
  return results;
}

/**
 * Every measure of the section. `directory` holds the small file read; the process should run where
 * it was started (not pinned), as a program would: the waiter threads share the CPUs it may use.
 *
 * The event loop is measured in rounds, one per repeat: idle trials, then PENDING_TOTAL waits
 * started, trials with them pending, and every wait resolved. Alternating the two conditions lets
 * drift in the machine's load (readFile runs on libuv's pool threads, which other processes'
 * threads compete with) touch both alike.
 */
export async function measureWaiting(plan: Plan, directory: string, progress: (what: string) => void): Promise<WaitingResults> {
  const file = join(directory, "small-file");
  writeFileSync(file, new Uint8Array(SMALL_FILE_BYTES).fill(0x6b));
  const timed = operations(file);
  const counts = new Map<Operation, number>();
  for (const operation of timed) counts.set(operation, await countFor(operation.run, plan.trialSeconds));
  const trials = new Map<string, LoopTrial[]>();
  const measureLoop = async (condition: LoopCondition, round: number): Promise<void> => {
    for (const operation of timed) {
      progress(`waiting: round ${round + 1}: ${operation.operation}, ${condition === "pending" ? `${PENDING_TOTAL} waits pending` : "idle"}`);
      const count = counts.get(operation)!;
      // A warm-up, thrown away: the first operations after a change of condition pay for it.
      await loopTrial(operation.run, Math.ceil(count / 4), plan.trialSeconds);
      const key = `${operation.operation} ${condition}`;
      trials.set(key, [...(trials.get(key) ?? []), await loopTrial(operation.run, count, 4 * plan.trialSeconds)]);
    }
  };

  const resolveMs: number[] = [];
  const threads = (): number => readdirSync("/proc/self/task").length;
  let added = { threads: 0, rssBytes: 0 };
  for (let round = 0; round < plan.repeats; round++) {
    await measureLoop("idle", round);
    progress(`waiting: round ${round + 1}: starting ${PENDING_TOTAL} waits`);
    const before = { threads: threads(), rssBytes: process.memoryUsage().rss };
    const pending = await startPendingWaits();
    if (round === 0) added = { threads: threads() - before.threads, rssBytes: process.memoryUsage().rss - before.rssBytes };
    try {
      await measureLoop("pending", round);
      const early = pending.settled();
      if (early !== 0) throw new Error(`${early} of ${PENDING_TOTAL} pending waits ended before anything was posted`);
      resolveMs.push(await pending.resolveAll());
    } finally {
      await pending.release();
    }
  }
  const loop = timed.flatMap((operation) =>
    (["idle", "pending"] as const).map((condition): LoopSeries => {
      const mine = trials.get(`${operation.operation} ${condition}`)!;
      return {
        operation: operation.operation,
        description: operation.description,
        condition,
        trials: mine,
        median: spread(mine.map((trial) => trial.median)),
        p99: spread(mine.map((trial) => trial.p99)),
      };
    }),
  );
  const uncontended = await measureUncontended(plan, progress);
  return { pending: PENDING, loop, resolveMs: spread(resolveMs), added, uncontended };
}
