/** The console report (also pasted into the README): header, the tables, targets, notes. */
import type { FileCopySeries } from "./filecopy.ts";
import { mebibytes, megabytesPerSecond, microseconds, nanoseconds, number3, ratio, table, withRange } from "./format.ts";
import type { LatencySeries, StreamSeries } from "./measure.ts";
import type { Results, TargetCheck } from "./results.ts";
import { PENDING_TOTAL, type LoopCondition, type WaitingResults } from "./waiting.ts";

const sizeLabel = (size: number): string => (size >= 1024 ? `${size / 1024} KiB` : `${size} B`);

function family(name: string): string {
  return name === "c" ? "C" : name;
}

export function header(results: Pick<Results, "startedAt" | "quick" | "plan" | "machine">): string {
  const { machine, plan } = results;
  const load = machine.loadAverage;
  return [
    `IPC benchmark, ${results.startedAt}, ${results.quick ? "quick run" : "full run"}: trials of ${plan.trialSeconds} s, ${plan.repeats} repeats, median [min–max]`,
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.kernel}; Node ${machine.node}; koffi ${machine.koffi}; ${machine.compiler ?? "no C compiler"}`,
    `load average (1 min): ${load.start.toFixed(2)} at start${load.end === null ? "" : `, ${load.end.toFixed(2)} at end`}`,
    ...(machine.topology
      ? [
          "CPU topology (lscpu -e):",
          ...machine.topology
            .trimEnd()
            .split("\n")
            .map((line) => `  ${line}`),
        ]
      : []),
  ].join("\n");
}

/** The C series a series is read against: same reference name, message size and placement. */
export function referenceOf<S extends { name: string; size: number; placement: string; reference?: string }>(series: S, all: S[]): S | undefined {
  return all.find((candidate) => candidate.name === series.reference && candidate.size === series.size && candidate.placement === series.placement);
}

/** Grouped by placement (in the order first measured), then in the order measured. */
function byPlacement<S extends { placement: string }>(all: S[]): S[] {
  const order = [...new Set(all.map((series) => series.placement))];
  return [...all].sort((a, b) => order.indexOf(a.placement) - order.indexOf(b.placement));
}

/** Distinct (placement, name) pairs, grouped by placement. */
function rowKeys(all: { name: string; placement: string }[]): { name: string; placement: string }[] {
  const seen = new Set<string>();
  return byPlacement(all).filter(({ name, placement }) => {
    const key = `${placement}\0${name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function throughputTable(all: StreamSeries[], sizes: readonly number[]): string {
  const largest = sizes[sizes.length - 1]!;
  const rows = rowKeys(all).map(({ name, placement }) => {
    const mine = all.filter((series) => series.name === name && series.placement === placement);
    const cells: string[] = [placement, name, family(mine[0]!.family)];
    for (const size of sizes) {
      const series = mine.find((candidate) => candidate.size === size);
      const reference = series && referenceOf(series, all);
      cells.push(series ? withRange(series.throughput, megabytesPerSecond) : "–");
      cells.push(series && reference ? ratio(series.throughput.median / reference.throughput.median) : "");
    }
    const big = mine.find((candidate) => candidate.size === largest);
    cells.push(big ? number3(big.cpuPerGigabyte.median) : "–");
    return cells;
  });
  const headers = ["CPUs", "mechanism", "family"];
  for (const size of sizes) headers.push(`${sizeLabel(size)}: MB/s`, "vs C");
  headers.push(`CPU s/GB (${sizeLabel(largest)})`);
  return table(headers, rows);
}

export function latencyTable(all: LatencySeries[]): string {
  const rows = byPlacement(all).map((series) => {
    const reference = referenceOf(series, all);
    return [
      series.placement,
      series.name,
      family(series.family),
      withRange(series.median, microseconds),
      withRange(series.p99, microseconds),
      series.p999 ? microseconds(series.p999.median) : "–",
      reference ? ratio(series.median.median / reference.median.median) : "",
      microseconds(series.cpuPerRoundTrip.median),
    ];
  });
  return table(["CPUs", "mechanism", "family", "median µs", "p99 µs", "p99.9 µs", "vs C", "CPU µs/round trip"], rows);
}

/** One-way times of the series that measure them: bench → peer (out) and peer → bench (back). */
export function oneWayTable(all: LatencySeries[]): string {
  const rows = byPlacement(all.filter((series) => series.oneWay !== undefined)).flatMap((series) =>
    (["out", "back"] as const).map((direction) => {
      const times = series.oneWay![direction];
      return [
        series.placement,
        series.name,
        direction === "out" ? "bench → peer" : "peer → bench",
        withRange(times.median, microseconds),
        withRange(times.p99, microseconds),
        microseconds(times.p999.median),
      ];
    }),
  );
  return rows.length === 0 ? "  (no mechanism measured one-way times)" : table(["CPUs", "mechanism", "direction", "median µs", "p99 µs", "p99.9 µs"], rows);
}

export function overheadTable(results: Results["overhead"]): string {
  const rows = results.map((series) => {
    const group = results.filter((other) => other.group === series.group);
    const builtIn = group.find((other) => other.family === "node");
    const c = group.find((other) => other.family === "c");
    return [
      series.group,
      series.name,
      withRange(series.perCall, nanoseconds),
      series.family === "core" && builtIn ? ratio(series.perCall.median / builtIn.perCall.median) : "",
      series.family !== "c" && c ? ratio(series.perCall.median / c.perCall.median) : "",
    ];
  });
  return table(["call", "through", "ns/call", "vs built-in", "vs C"], rows);
}

const conditionLabel: Record<LoopCondition, string> = {
  idle: "idle: no wait pending",
  pending: `${PENDING_TOTAL.toLocaleString("en-US")} waits pending`,
};

export function eventLoopTable(waiting: WaitingResults): string {
  const rows = waiting.loop.map((series) => {
    const idle = waiting.loop.find((other) => other.operation === series.operation && other.condition === "idle");
    return [
      series.operation,
      conditionLabel[series.condition],
      withRange(series.median, microseconds),
      withRange(series.p99, microseconds),
      idle && series !== idle ? ratio(series.median.median / idle.median.median) : "",
    ];
  });
  return table(["operation", "condition", "median µs", "p99 µs", "vs idle"], rows);
}

export function uncontendedTable(waiting: WaitingResults): string {
  const rows = waiting.uncontended.map((series) => {
    const sync = waiting.uncontended.find((other) => other.group === series.group && other.form === "sync");
    return [series.group, series.name, withRange(series.perPair, nanoseconds), series.form === "async" && sync ? ratio(series.perPair.median / sync.perPair.median) : ""];
  });
  return table(["semaphore", "loop of", "ns/pair", "vs sync"], rows);
}

function waitingSections(waiting: WaitingResults | null): string[] {
  if (waiting === null) return ["Async waits: event loop under load, uncontended waits", "  (not measured)"];
  const { posix, futex, ring, sysv } = waiting.pending;
  return [
    `Event loop with ${PENDING_TOTAL.toLocaleString("en-US")} async waits pending in the bench (${posix} POSIX semaphores, ${futex} futex words, ${ring} ring readers, ` +
      `${sysv} System V semaphores): each operation timed one at a time (vs idle: this median ÷ the idle median)`,
    `${eventLoopTable(waiting)}\n\n` +
      `every wait resolved ${withRange(waiting.resolveMs, number3)} ms after the first post, none before, in each of ${waiting.resolveMs.n} rounds; ` +
      `pending, the first round's waits added ${waiting.added.threads} threads and ${mebibytes(waiting.added.rssBytes)} MiB of RSS`,
    "Uncontended waits, the semaphore free: a loop of acquire + release (vs sync: async ÷ sync)",
    uncontendedTable(waiting),
  ];
}

export function fileCopyTable(all: FileCopySeries[]): string {
  const c = all.find((series) => series.name === "C mmap+memcpy");
  const rows = all.map((series) => [
    series.name,
    withRange(series.seconds, (value) => number3(value)),
    c ? ratio(series.seconds.median / c.seconds.median) : "",
    series.peakRss ? withRange(series.peakRss, mebibytes) : "–",
  ]);
  return table(["program", "wall s", "vs C", "peak RSS MiB"], rows);
}

export function targetLines(targets: TargetCheck[]): string {
  return targets.map((check) => `  ${check.met === null ? "[not measured]" : check.met ? "[met]" : "[missed]"} ${check.target}: ${check.measured}`).join("\n");
}

export function fullReport(results: Results): string {
  const fileSize = `${mebibytes(results.plan.fileCopyBytes)} MiB`;
  const sections = [
    header(results),
    "CPUs: where the two sides ran. 2 CPUs: the bench's side pinned to one CPU, the peer's to another; 1 CPU: both pinned to the same CPU.",
    `Streaming throughput, messages of ${results.plan.sizes.map(sizeLabel).join(" / ")} (vs C: this figure ÷ the C reference's)`,
    throughputTable(results.throughput, results.plan.sizes),
    `Ping-pong round trip of ${results.plan.pingSize} B (vs C: this median ÷ the C reference's median)`,
    latencyTable(results.latency),
    `One-way times of the same ping-pongs (the peer stamps every second echo with CLOCK_MONOTONIC when the ping arrived, and those round trips are left out of the round-trip table; both processes read the same clock)`,
    oneWayTable(results.latency),
    "Per-call overhead (vs built-in: core ÷ Node; vs C: ÷ the bare system call in C)",
    overheadTable(results.overhead),
    ...waitingSections(results.waiting),
    `filecopy of a ${fileSize} file, page cache warm, whole program runs (vs C: ÷ the C whole-file copy)`,
    results.filecopy.length > 0 ? fileCopyTable(results.filecopy) : "  (not measured)",
    "The project's targets",
    targetLines(results.targets),
  ];
  const notes = [...results.unavailable.map(({ name, reason }) => `${name}: not available: ${reason}`), ...results.notes];
  if (notes.length > 0) sections.push("Notes", notes.map((note) => `  - ${note}`).join("\n"));
  return `${sections.join("\n\n")}\n`;
}
