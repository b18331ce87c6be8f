/**
 * For the examples' `demo` scripts: each side of a pair runs as its own process, and every line it
 * prints is relayed as soon as it is printed, labelled `[side] line` (stdout to stdout, stderr to
 * stderr), so a learner sees the programs interleave as they would in two terminals. A demo waits for
 * a side's readiness line before starting the other, and ends non-zero when a side did not end as
 * expected.
 */
import type { ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { spawnWithFds, waitForExit, type SpawnWithFdsOptions } from "@linux-ipc/core";
import { END_WITH_PARENT_ENV } from "./signals.ts";

/** The line that opens each part of a demo: `=== unrelated: writer/reader (P2/P3) ===`. */
export function printHeading(title: string): void {
  process.stdout.write(`=== ${title} ===\n`);
}

/** How long `waitForLine` waits by default before it gives up. */
const LINE_WAIT_MS = 15_000;

/** One program of a demo, running in its own process. */
export class DemoSide {
  /** The running program. */
  readonly child: ChildProcess;
  /** The name shown before each relayed line. */
  readonly label: string;
  readonly #lines: string[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * Starts `script` (a JavaScript program) with `args`; its lines are relayed with `[label] ` in
   * front. The side ends (by SIGHUP, running its cleanup) if the demo dies before it.
   */
  constructor(label: string, script: string, args: string[] = [], options: Omit<SpawnWithFdsOptions, "stdio"> = {}) {
    this.label = label;
    const env = { ...(options.env ?? process.env), [END_WITH_PARENT_ENV]: "1" };
    this.child = spawnWithFds(script, args, { ...options, env, stdio: ["ignore", "pipe", "pipe"] });
    this.#exited = waitForExit(this.child);
    relayLines(this.child.stdout!, process.stdout, label, (line) => {
      this.#lines.push(line);
      for (const listener of this.#listeners) listener();
    });
    relayLines(this.child.stderr!, process.stderr, label);
    void this.#exited.finally(() => {
      for (const listener of this.#listeners) listener();
    });
  }

  /**
   * Resolves with the first stdout line (already printed or to come) that contains `pattern` or
   * matches it; rejects, naming the side and the line, if the side exits first or `timeoutMs` passes.
   */
  waitForLine(pattern: string | RegExp, timeoutMs = LINE_WAIT_MS): Promise<string> {
    const matches = (line: string): boolean => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line));
    return new Promise((resolve, reject) => {
      let exited = false;
      const check = (): void => {
        const line = this.#lines.find(matches);
        if (line !== undefined) finish(() => resolve(line));
        else if (exited || this.child.exitCode !== null || this.child.signalCode !== null) finish(() => reject(new Error(`${this.label} ended before printing a line matching ${String(pattern)}`)));
      };
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.label}: no line matching ${String(pattern)} within ${timeoutMs} ms`))), timeoutMs);
      void this.#exited.finally(() => {
        exited = true;
      });
      this.#listeners.add(check);
      check();
    });
  }

  /**
   * Waits for the side to end. Returns true when it exited with `expectedCode`; otherwise prints how
   * it ended and returns false.
   */
  async finished(expectedCode = 0): Promise<boolean> {
    let how: string;
    try {
      const { code, signal } = await this.#exited;
      if (code === expectedCode) return true;
      how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    } catch (error) {
      how = `failed: ${(error as Error).message.split("\n")[0]}`;
    }
    process.stderr.write(`[${this.label}] ${how}, expected exit code ${expectedCode}\n`);
    return false;
  }

  /** The lines the side printed on stdout so far. */
  get stdout(): string {
    return this.#lines.map((line) => `${line}\n`).join("");
  }

  /** Sends `signal` if the side is still running. */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

function relayLines(source: Readable, target: NodeJS.WriteStream, label: string, onLine?: (line: string) => void): void {
  // A character cut between two chunks is joined by the decoder.
  const decoder = new StringDecoder("utf8");
  let partial = "";
  const emit = (line: string): void => {
    target.write(`[${label}] ${line}\n`);
    onLine?.(line);
  };
  source.on("data", (chunk: Buffer) => {
    const lines = (partial + decoder.write(chunk)).split("\n");
    partial = lines.pop()!;
    for (const line of lines) emit(line);
  });
  source.on("end", () => {
    if (partial) emit(partial);
  });
}
