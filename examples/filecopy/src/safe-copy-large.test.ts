import { describe, expect, it } from "vitest";
import { closeSync, ftruncateSync, openSync, readSync, readdirSync, statSync, watch, writeFileSync, writeSync } from "node:fs";
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { PAGE_SIZE } from "@linux-ipc/core";
import { runCommand, runProgram, startProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";

const copy = compiledProgram(import.meta.url, "safe-copy");
const measuredCopy = fileURLToPath(new URL("../dist-fixtures/peak-rss.js", import.meta.url));
const dir = useTempDir("filecopy-large-");

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CHUNK = 16 * MiB;

function envWithWindow(window: number | null): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FILECOPY_WINDOW_BYTES;
  if (window !== null) env.FILECOPY_WINDOW_BYTES = String(window);
  return env;
}

/** Writes `chunks` chunks of random bytes at `offset` of the open file; returns their sha256. */
function writeRandom(fd: number, offset: number, chunks: number): string {
  const hash = createHash("sha256");
  const chunk = Buffer.alloc(CHUNK);
  for (let index = 0; index < chunks; index++) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, CHUNK, offset + index * CHUNK);
    hash.update(chunk);
  }
  return hash.digest("hex");
}

/** The sha256 of `length` bytes at `offset` of the file at `path`. */
function hashRange(path: string, offset: number, length: number): string {
  const fd = openSync(path, "r");
  try {
    const hash = createHash("sha256");
    const chunk = Buffer.alloc(CHUNK);
    for (let done = 0; done < length; ) {
      const count = readSync(fd, chunk, 0, Math.min(CHUNK, length - done), offset + done);
      expect(count).toBeGreaterThan(0);
      hash.update(chunk.subarray(0, count));
      done += count;
    }
    return hash.digest("hex");
  } finally {
    closeSync(fd);
  }
}

function readRange(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const bytes = Buffer.alloc(length);
    expect(readSync(fd, bytes, 0, length, offset)).toBe(length);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

const shellQuote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

describe("safe-copy of a large file", () => {
  it("copies a 5 GiB sparse file with 160 MiB of data across the 4 GiB mark, in bounded memory, keeping it sparse", async () => {
    const source = dir.file("sparse");
    const target = dir.file("copy");
    const size = 5 * GiB;
    const dataAt = 4 * GiB - 80 * MiB;
    const dataLength = 10 * CHUNK;
    const fd = openSync(source, "w");
    let dataHash: string;
    try {
      ftruncateSync(fd, size);
      dataHash = writeRandom(fd, dataAt, dataLength / CHUNK);
      writeSync(fd, Buffer.from("first bytes"), 0, 11, 0);
      writeSync(fd, Buffer.from("last"), 0, 4, size - 4);
    } finally {
      closeSync(fd);
    }

    const result = await runProgram(measuredCopy, [source, target], { env: envWithWindow(null) });
    // stderr is a pipe here, not a terminal: no progress line, only the fixture's measurement.
    expect(result.stderr).toMatch(/^VmHWM: \d+ kB\n$/);
    expect(result).toMatchObject({ code: 0, signal: null, stdout: "" });
    const peakKiB = Number(/VmHWM: (\d+)/.exec(result.stderr)![1]);
    expect(peakKiB).toBeLessThan(256 * 1024);

    const copied = statSync(target);
    expect(copied.size).toBe(size);
    expect(hashRange(target, dataAt, dataLength)).toBe(dataHash);
    expect(readRange(target, 0, 11).toString()).toBe("first bytes");
    expect(readRange(target, size - 4, 4).toString()).toBe("last");
    for (const offset of [GiB, 2 * GiB + 123, 4 * GiB + 80 * MiB, size - 4 - PAGE_SIZE]) {
      expect(readRange(target, offset, PAGE_SIZE).every((byte) => byte === 0)).toBe(true);
    }
    // Only the data was written: the holes are holes in the copy too.
    expect(copied.blocks * 512).toBeLessThan(dataLength + 64 * MiB);
    expect(readdirSync(dir.path).sort()).toEqual(["copy", "sparse"]);
  });

  it("shows a progress line on stderr when it is a terminal and the file spans 8 windows or more, and only then", async () => {
    const source = dir.file("source");
    const window = PAGE_SIZE;
    writeFileSync(source, randomBytes(64 * window));
    const small = dir.file("small");
    writeFileSync(small, randomBytes(7 * window));
    const env = envWithWindow(window);
    const underTerminal = (from: string, to: string): Promise<{ code: number | null; stdout: string }> => {
      // script(1) runs the command with a pseudo-terminal as its stdin, stdout and stderr.
      const command = [process.execPath, copy, from, to].map(shellQuote).join(" ");
      return runCommand("script", ["-qec", command, "/dev/null"], { env });
    };

    const large = await underTerminal(source, dir.file("copy"));
    expect(large.code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the progress line ends with the terminal's erase-line sequence, ESC [ K
    expect(large.stdout).toMatch(/\rsafe-copy: 256\.0 KiB of 256\.0 KiB \(100%\), \S+ \S+\/s, done in \d+\.\d s\x1b\[K\r\n$/);
    expect((await underTerminal(small, dir.file("small-copy"))).stdout).toBe("");

    const piped = await runProgram(copy, [source, dir.file("piped-copy")], { env });
    expect(piped).toMatchObject({ code: 0, stdout: "", stderr: "" });
  });

  it("removes its temporary file when SIGTERM arrives mid-copy, and ends by that signal", async () => {
    const source = dir.file("source");
    const fd = openSync(source, "w");
    try {
      writeRandom(fd, 0, 4);
    } finally {
      closeSync(fd);
    }
    // One page per window: the copy takes thousands of windows, and the signal lands between two.
    const program = startProgram(copy, [source, dir.file("target")], { env: envWithWindow(PAGE_SIZE) });
    const watcher = watch(dir.path);
    try {
      const temporaryCreated = new Promise<void>((resolve) => {
        watcher.on("change", (_, name) => {
          if (String(name).startsWith(".target.copy-")) resolve();
        });
      });
      const endedFirst = program.exited.then((result) => {
        throw new Error(`safe-copy ended (code ${result.code}) before its temporary file was seen`);
      });
      await Promise.race([temporaryCreated, endedFirst]);
      program.kill("SIGTERM");
      const result = await program.exited;
      expect(result).toMatchObject({ code: null, signal: "SIGTERM", stdout: "", stderr: "" });
      expect(readdirSync(dir.path)).toEqual(["source"]);
    } finally {
      watcher.close();
      program.kill("SIGKILL");
      await program.exited.catch(() => {});
    }
  });
});
