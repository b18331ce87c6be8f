/**
 * filecopy: the example's `safe-copy` program (P4 made safe, in 32 MiB windows) against the C
 * mmap+memcpy copy and against `cp`, each a whole program run from start to exit on a warm page
 * cache: wall time and peak RSS.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync, fsyncSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomFillSync } from "node:crypto";
import { promisify } from "node:util";
import { track } from "./cleanup.ts";
import type { NativePrograms } from "./native.ts";
import { spread, type Spread } from "./stats.ts";

export const copyScript = fileURLToPath(new URL("../../examples/filecopy/dist/safe-copy.js", import.meta.url));
const GNU_TIME = "/usr/bin/time";
/** The windowed C copy's window: the example's default (32 MiB), so both bound their memory alike. */
export const C_WINDOW = 32 * 2 ** 20;
const CHUNK = 16 * 2 ** 20;

export interface CopyRun {
  seconds: number;
  /** Peak resident set size in bytes, or null where it cannot be measured. */
  peakRss: number | null;
}

export interface FileCopySeries {
  name: string;
  family: "core" | "c" | "system" | "node";
  description: string;
  fileBytes: number;
  runs: CopyRun[];
  seconds: Spread;
  peakRss: Spread | null;
}

interface Contender {
  name: string;
  family: FileCopySeries["family"];
  description: string;
  command: (source: string, destination: string) => string[];
  /** False for the start-up baseline, which copies nothing. */
  copies: boolean;
}

/** How peak RSS is measured here: GNU time's %M, else the compiled wait4 wrapper, else not at all. */
async function rssWrapper(programs: NativePrograms | null): Promise<{ prefix: string[]; how: string } | null> {
  try {
    await promisify(execFile)(GNU_TIME, ["-f", "%M", "true"]);
    return { prefix: [GNU_TIME, "-f", "%M"], how: `${GNU_TIME} -f %M (wait4 ru_maxrss)` };
  } catch {
    if (programs) return { prefix: [programs.path("peak_rss")], how: "bench/c/peak_rss.c (wait4 ru_maxrss)" };
    return null;
  }
}

/** Runs `argv`, timing it from spawn to exit; the wrapper prints the peak RSS (KiB) as stderr's last line. */
function runTimed(argv: string[], measuresRss: boolean): Promise<CopyRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const seconds = (performance.now() - start) / 1e3;
      const lines = stderr.trim().split("\n");
      if (code !== 0) {
        reject(new Error(`${argv.join(" ")} failed (code ${code}, signal ${signal}): ${stderr.trim()}`));
        return;
      }
      const kib = measuresRss ? Number(lines[lines.length - 1]) : Number.NaN;
      resolve({ seconds, peakRss: Number.isFinite(kib) ? kib * 1024 : null });
    });
  });
}

function createSource(path: string, bytes: number): void {
  const chunk = randomFillSync(Buffer.alloc(Math.min(CHUNK, bytes)));
  const fd = openSync(path, "w");
  try {
    for (let written = 0; written < bytes; ) written += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
    // On disk before timing starts, so writeback of the source does not run during the copies.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sameContent(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const left = Buffer.alloc(CHUNK);
  const right = Buffer.alloc(CHUNK);
  const fa = openSync(a, "r");
  const fb = openSync(b, "r");
  try {
    for (;;) {
      const n = readSync(fa, left, 0, CHUNK, null);
      const m = readSync(fb, right, 0, CHUNK, null);
      if (n !== m || left.compare(right, 0, m, 0, n) !== 0) return false;
      if (n === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

export async function measureFileCopy(programs: NativePrograms | null, fileBytes: number, repeats: number, progress: (what: string) => void, notes: string[]): Promise<FileCopySeries[]> {
  const wrapper = await rssWrapper(programs);
  if (wrapper === null) notes.push("filecopy: neither GNU time nor a C compiler: peak RSS not measured");
  else notes.push(`filecopy: peak RSS measured with ${wrapper.how}`);

  const contenders: Contender[] = [];
  if (programs) {
    contenders.push(
      {
        name: "C mmap+memcpy",
        family: "c",
        description: "bench/c/mmap_copy.c: both files mapped whole, one memcpy (the tutorial's P4, fixed)",
        command: (s, d) => [programs.path("mmap_copy"), s, d],
        copies: true,
      },
      {
        name: "C mmap+memcpy, windows",
        family: "c",
        description: `bench/c/mmap_copy.c with ${C_WINDOW / 2 ** 20} MiB windows (bounded memory)`,
        command: (s, d) => [programs.path("mmap_copy"), s, d, String(C_WINDOW)],
        copies: true,
      },
    );
  } else {
    notes.push("filecopy: no C compiler, so no C copy to compare with");
  }
  contenders.push({ name: "cp", family: "system", description: "coreutils cp SRC DST", command: (s, d) => ["cp", s, d], copies: true });
  if (existsSync(copyScript)) {
    const node = [process.execPath, copyScript];
    contenders.push(
      { name: "TS copy", family: "core", description: "examples/filecopy/dist/safe-copy.js SRC DST (node, whole program)", command: (s, d) => [...node, s, d], copies: true },
      { name: "node start-up", family: "node", description: "safe-copy.js --help: starting node and the program, copying nothing", command: () => [...node, "--help"], copies: false },
    );
  } else {
    notes.push("filecopy: examples/filecopy/dist/safe-copy.js is not built: TS copy skipped");
  }

  const directory = mkdtempSync(join(tmpdir(), "ipc-bench-filecopy-"));
  const removeDirectory = track(() => rmSync(directory, { recursive: true, force: true }));
  try {
    const source = join(directory, "source");
    const destination = join(directory, "copy");
    progress(`filecopy: writing a ${fileBytes / 2 ** 20} MiB source file`);
    createSource(source, fileBytes);
    const runs = contenders.map(() => [] as CopyRun[]);
    // Round one is a warm-up (page cache) and checks every copy byte for byte.
    for (let round = 0; round <= repeats; round++) {
      for (const [index, contender] of contenders.entries()) {
        progress(`filecopy: ${contender.name} (${round === 0 ? "warm-up" : `run ${round} of ${repeats}`})`);
        rmSync(destination, { force: true });
        const run = await runTimed([...(wrapper?.prefix ?? []), ...contender.command(source, destination)], wrapper !== null);
        if (contender.copies) {
          const size = existsSync(destination) ? statSync(destination).size : -1;
          if (size !== fileBytes || (round === 0 && !sameContent(source, destination))) {
            throw new Error(`filecopy: ${contender.name} did not produce an exact copy`);
          }
        }
        if (round > 0) runs[index]!.push(run);
      }
    }
    return contenders.map((contender, index) => {
      const mine = runs[index]!;
      const rss = mine.map((run) => run.peakRss).filter((value): value is number => value !== null);
      const { command: _command, copies: _copies, ...about } = contender;
      return { ...about, fileBytes, runs: mine, seconds: spread(mine.map((run) => run.seconds)), peakRss: rss.length > 0 ? spread(rss) : null };
    });
  } finally {
    removeDirectory();
  }
}
