/**
 * The cost of one call through a core binding (koffi) against Node's nearest built-in doing the same
 * system call, measured in this process in batches, alternating the two, with C's cost of the bare
 * system call beside them.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { getpid, getppid, read, write } from "@linux-ipc/core";
import type { NativePrograms } from "./native.ts";
import type { Plan } from "./measure.ts";
import { spread, type Spread } from "./stats.ts";
import { track } from "./cleanup.ts";

export interface OverheadSeries {
  name: string;
  family: "core" | "node" | "c";
  description: string;
  /** The series of the same row group this one sits beside (the built-in, or C). */
  group: string;
  /** Seconds per call, one value per batch. */
  perCall: Spread;
  batches: number[];
  callsPerBatch: number;
}

interface Contender {
  name: string;
  family: "core" | "node";
  description: string;
  loop: (calls: number) => void;
}

/** Seconds per call of `loop` over `calls` calls. */
function timeBatch(loop: (calls: number) => void, calls: number): number {
  const start = performance.now();
  loop(calls);
  return (performance.now() - start) / 1e3 / calls;
}

/** Calls per batch so that one batch lasts about `seconds`. */
function callsFor(loop: (calls: number) => void, seconds: number): number {
  let calls = 1000;
  for (;;) {
    const perCall = timeBatch(loop, calls);
    if (perCall * calls >= seconds / 4) return Math.max(1000, Math.round(seconds / perCall));
    calls *= 4;
  }
}

export async function measureOverhead(programs: NativePrograms | null, plan: Plan, progress: (what: string) => void): Promise<OverheadSeries[]> {
  const devNull = openSync("/dev/null", "w");
  const devZero = openSync("/dev/zero", "r");
  const release = track(() => {
    closeSync(devNull);
    closeSync(devZero);
  });
  const message = new Uint8Array(64);
  let _sink = 0; // every result is used, as a caller would use it
  // One loop per contender, written out: a shared loop calling a closure would add its own cost.
  const groups: { group: string; contenders: Contender[]; c?: { call: "write" | "getppid" } }[] = [
    {
      group: "write 64 B to /dev/null",
      c: { call: "write" },
      contenders: [
        {
          name: "core write",
          family: "core",
          description: "write(fd, bytes) from @linux-ipc/core",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += write(devNull, message);
          },
        },
        {
          name: "fs.writeSync",
          family: "node",
          description: "node:fs writeSync(fd, bytes)",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += writeSync(devNull, message);
          },
        },
      ],
    },
    {
      group: "read 64 B from /dev/zero",
      contenders: [
        {
          name: "core read",
          family: "core",
          description: "read(fd, buffer) from @linux-ipc/core",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += read(devZero, message);
          },
        },
        {
          name: "fs.readSync",
          family: "node",
          description: "node:fs readSync(fd, buffer, 0, 64, null)",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += readSync(devZero, message, 0, 64, null);
          },
        },
      ],
    },
    {
      group: "getppid()",
      c: { call: "getppid" },
      contenders: [
        {
          name: "core getppid",
          family: "core",
          description: "getppid() from @linux-ipc/core (a system call each time)",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += getppid();
          },
        },
        {
          name: "process.ppid",
          family: "node",
          description: "process.ppid (libuv uv_os_getppid: a system call each time)",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += process.ppid;
          },
        },
      ],
    },
    {
      group: "getpid()",
      contenders: [
        {
          name: "core getpid",
          family: "core",
          description: "getpid() from @linux-ipc/core (a system call each time)",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += getpid();
          },
        },
        {
          name: "process.pid",
          family: "node",
          description: "process.pid (a number Node read once at start: no call at all)",
          loop: (n) => {
            for (let i = 0; i < n; i++) _sink += process.pid;
          },
        },
      ],
    },
  ];
  const batchSeconds = plan.trialSeconds / 2;
  const results: OverheadSeries[] = [];
  try {
    for (const { group, contenders, c } of groups) {
      progress(`call overhead: ${group}`);
      const calls = Math.max(...contenders.map((contender) => callsFor(contender.loop, batchSeconds)));
      const batches = contenders.map(() => [] as number[]);
      // Alternating batches: drift in the machine's load touches both contenders alike.
      for (let r = 0; r < plan.repeats; r++) {
        for (const [index, contender] of contenders.entries()) batches[index]!.push(timeBatch(contender.loop, calls));
      }
      contenders.forEach((contender, index) => {
        const { loop: _loop, ...about } = contender;
        results.push({ ...about, group, perCall: spread(batches[index]!), batches: batches[index]!, callsPerBatch: calls });
      });
      if (c && programs) {
        const cBatches: number[] = [];
        for (let r = 0; r < plan.repeats; r++) {
          const { seconds, count } = await programs.json<{ seconds: number; count: number }>("syscalls", [c.call, calls]);
          cBatches.push(seconds / count);
        }
        results.push({ name: `C ${c.call}`, family: "c", description: `C: ${c.call}() in a loop (the bare system call)`, group, perCall: spread(cBatches), batches: cBatches, callsPerBatch: calls });
      }
    }
  } finally {
    release();
  }
  return results;
}
