/**
 * pnpm bench [--quick] [--out DIR] [--only LIST]: every measure of the suite in one run. Prints the
 * report, writes DIR/latest.json and DIR/latest.svg. Targets are read, never asserted: a missed
 * target is reported, and the exit code is 1 only when a measure could not be taken.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommand, runMain, UsageError, usageText } from "@linux-ipc/programs";
import { allowedCpus, pinProcess, placements } from "./affinity.ts";
import { releaseAll, releaseOnSignal, track } from "./cleanup.ts";
import { measureFileCopy } from "./filecopy.ts";
import { measureJsFloor } from "./js-floor.ts";
import { measureRingWithC } from "./ring-c.ts";
import { describeMachine, finishMachine } from "./machine.ts";
import { measureMechanism, measureReferences, type Plan } from "./measure.ts";
import { mechanisms } from "./mechanisms/index.ts";
import type { Mechanism } from "./mechanisms/types.ts";
import { compileReferences } from "./native.ts";
import { measureOverhead } from "./overhead.ts";
import { PeerProcess } from "./peer-process.ts";
import { PROFILE_VARIABLE, profileIfAsked } from "./profile.ts";
import { fullReport, header } from "./report.ts";
import type { Results } from "./results.ts";
import { chart } from "./svg.ts";
import { evaluateTargets } from "./targets.ts";
import { measureWaiting, WAITING_MECHANISMS } from "./waiting.ts";

const resultsDirectory = fileURLToPath(new URL("../results/", import.meta.url));
/** A quick run's files go to results/tmp/ (ignored by git), so they never replace a full run's. */
const quickResultsDirectory = join(resultsDirectory, "tmp");
const sections = ["c", "ipc", "overhead", "waiting", "filecopy", "floor", "ring-c", "ring"] as const;
const placementChoices = ["both", "one-cpu", "two-cpus", "unpinned"] as const;

const spec = {
  name: "bench",
  summary: "Measures every IPC mechanism from TypeScript, side by side with C and with Node's built-ins.",
  options: {
    quick: { type: "boolean", description: "short trials, 3 repeats and a 64 MiB filecopy: done in under a minute" },
    out: {
      type: "string",
      value: "DIR",
      description: "where latest.json and latest.svg are written (default bench/results/, bench/results/tmp/ with --quick)",
    },
    placement: {
      type: "string",
      value: "WHERE",
      description: `where the two sides of each IPC measure run: ${placementChoices.join(", ")} (both: pinned to two CPUs, then to one)`,
      default: "both",
    },
    profile: {
      type: "string",
      value: "DIR",
      description: "write a V8 CPU profile of the bench and of every peer process into DIR (*.cpuprofile)",
    },
    only: {
      type: "string",
      value: "LIST",
      description:
        `comma-separated parts to run: ${sections.join(", ")} (waiting brings c and the mechanisms ${WAITING_MECHANISMS.join(", ")}; ` +
        `floor is the JavaScript floor, ring-c the ring with a C peer, ring brings c, floor, ring-c and every ring-* mechanism), ` +
        `or mechanism names (${mechanisms.map((m) => m.name).join(", ")})`,
    },
  },
  details:
    "Every measure is repeated and reported as median [min–max]; each TypeScript figure is also shown as a ratio to a C\n" +
    "reference measured in the same run (compiled from bench/c with cc). See bench/README.md for how to read the results.",
} as const;

await runMain("bench", async () => {
  const { values } = parseCommand(spec);
  const wanted =
    values.only
      ?.split(",")
      .map((part) => part.trim())
      .filter(Boolean) ?? null;
  for (const part of wanted ?? []) {
    if (!(sections as readonly string[]).includes(part) && !mechanisms.some((m) => m.name === part)) {
      throw new UsageError(`bench: --only: no part or mechanism named '${part}'`, usageText(spec));
    }
  }
  const placementChoice = values.placement as (typeof placementChoices)[number];
  if (!placementChoices.includes(placementChoice)) {
    throw new UsageError(`bench: --placement must be one of ${placementChoices.join(", ")}, not '${placementChoice}'`, usageText(spec));
  }
  // The waiting section's round trips are mechanisms, read against the C references; so are the ring's.
  const waiting = wanted?.includes("waiting") ? WAITING_MECHANISMS : [];
  const rings = wanted?.includes("ring") ? mechanisms.filter((m) => m.name.startsWith("ring-")).map((m) => m.name) : [];
  const mechanismNames = [...new Set([...(wanted?.filter((part) => mechanisms.some((m) => m.name === part)) ?? []), ...waiting, ...rings])];
  const runs = (section: (typeof sections)[number]): boolean =>
    wanted === null ||
    wanted.includes(section) ||
    (section === "ipc" && mechanismNames.length > 0) ||
    (section === "c" && (waiting.length > 0 || rings.length > 0)) ||
    ((section === "floor" || section === "ring-c") && rings.length > 0);

  const quick = values.quick;
  const plan: Plan = quick
    ? { trialSeconds: 0.03, repeats: 3, sizes: [64, 4096, 65536], pingSize: 64, minRoundTrips: 500 }
    : { trialSeconds: 0.2, repeats: 5, sizes: [64, 4096, 65536], pingSize: 64, minRoundTrips: 2000 };
  const fileCopyBytes = quick ? 64 * 2 ** 20 : 2 ** 30;
  // More runs for filecopy: on a virtual machine a run now and then pays far more system time (fresh page
  // cache pages for the copy), and the median should not rest on those.
  const fileCopyRepeats = quick ? 3 : 7;
  const out = resolve(values.out ?? (quick ? quickResultsDirectory : resultsDirectory));
  const started = performance.now();
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");

  if (values.profile !== undefined) {
    mkdirSync(values.profile, { recursive: true });
    process.env[PROFILE_VARIABLE] = resolve(values.profile); // the peers inherit it
  }
  const writeProfile = await profileIfAsked("bench");
  const stopHandlingSignals = releaseOnSignal();
  const progress = process.stderr.isTTY ? (what: string): void => void process.stderr.write(`\r\x1b[K${what}`) : (what: string): void => void process.stderr.write(`bench: ${what}\n`);
  const notes: string[] = [];
  const failures: string[] = [];
  const attempt = async (what: string, task: () => Promise<void>): Promise<void> => {
    try {
      await task();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  try {
    mkdirSync(out, { recursive: true });
    progress("compiling the C references");
    const native = await compileReferences();
    if (native.note) notes.push(native.note);
    const results: Results = {
      format: "ipc-bench/1",
      startedAt,
      seconds: 0,
      quick,
      plan: { ...plan, fileCopyBytes },
      machine: describeMachine(native.compiler),
      notes,
      placements: [],
      unavailable: [],
      throughput: [],
      latency: [],
      overhead: [],
      filecopy: [],
      waiting: null,
      targets: [],
    };
    process.stdout.write(`${header(results)}\n\n`);

    if (runs("overhead")) {
      await attempt("per-call overhead", async () => {
        results.overhead = await measureOverhead(native.programs, plan, progress);
      });
    }
    const available: Mechanism[] = [];
    for (const mechanism of mechanisms) {
      if (mechanismNames.length > 0 && !mechanismNames.includes(mechanism.name)) continue;
      const reason = runs("ipc") ? await mechanism.unavailable() : null;
      if (reason === null) available.push(mechanism);
      else {
        results.unavailable.push({ name: mechanism.name, reason });
        progress(`${mechanism.name}: not available, skipped (${reason})`);
      }
    }
    const cpus = allowedCpus();
    const chosen = runs("c") || runs("ipc") || runs("floor") || runs("ring-c") ? placements(placementChoice, cpus, notes) : [];
    results.placements = chosen.map((placement) => placement.name);
    const directory = mkdtempSync(join(tmpdir(), "ipc-bench-"));
    const removeDirectory = track(() => rmSync(directory, { recursive: true, force: true }));
    const unpin = track(() => pinProcess(process.pid, cpus));
    if (runs("c") && native.programs) {
      const programs = native.programs;
      for (const placement of chosen) {
        await attempt(`C references (${placement.name})`, async () => {
          const references = await measureReferences(programs, plan, placement, progress);
          results.throughput.push(...references.streams);
          results.latency.push(...references.latency);
        });
      }
    }
    for (const placement of runs("floor") ? chosen : []) {
      await attempt(`JavaScript floor (${placement.name})`, async () => {
        results.latency.push(await measureJsFloor(plan, placement, progress));
      });
    }
    if (runs("ring-c") && native.programs) {
      const programs = native.programs;
      for (const placement of chosen) {
        await attempt(`ring with a C peer (${placement.name})`, async () => {
          const measured = await measureRingWithC(programs, plan, placement, progress);
          results.throughput.push(...measured.streams);
          results.latency.push(...measured.latency);
        });
      }
    }
    for (const mechanism of runs("ipc") ? available : []) {
      await attempt(mechanism.name, async () => {
        const context = { directory, startPeer: (options: ConstructorParameters<typeof PeerProcess>[1]) => new PeerProcess(mechanism.name, options) };
        const measured = await measureMechanism(mechanism, context, plan, chosen, progress);
        results.throughput.push(...measured.streams);
        results.latency.push(...measured.latency);
      });
    }
    unpin();
    if (runs("waiting")) {
      await attempt("waiting", async () => {
        results.waiting = await measureWaiting(plan, directory, progress);
      });
    }
    removeDirectory();
    if (runs("filecopy")) {
      await attempt("filecopy", async () => {
        results.filecopy = await measureFileCopy(native.programs, fileCopyBytes, fileCopyRepeats, progress, notes);
      });
    }
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");

    finishMachine(results.machine);
    results.seconds = (performance.now() - started) / 1e3;
    results.targets = evaluateTargets(results);
    notes.push(...failures.map((failure) => `FAILED: ${failure}`));
    const report = fullReport(results);
    process.stdout.write(report.slice(report.indexOf("\n\n") + 2));
    writeFileSync(join(out, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, "latest.svg"), chart(results));
    process.stdout.write(`\nwrote ${join(out, "latest.json")} and ${join(out, "latest.svg")} (${results.seconds.toFixed(1)} s)\n`);
    return failures.length > 0 ? 1 : 0;
  } finally {
    stopHandlingSignals();
    releaseAll();
    await writeProfile();
  }
});
