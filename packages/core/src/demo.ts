/**
 * For the examples' `demo` scripts: each side of a pair runs as its own process, and every line it
 * prints is relayed as soon as it is printed, labelled `[side] line` (stdout to stdout, stderr to
 * stderr), so a learner sees the programs interleave as they would in two terminals. A demo waits for
 * a side's readiness line before starting the other, and ends non-zero when a side did not end as
 * expected.
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { startProgram, type RunningProgram, type StartOptions } from "./testing/harness.ts";

/** The line that opens each part of a demo: `=== unrelated: writer/reader (P2/P3) ===`. */
export function printHeading(title: string): void {
  process.stdout.write(`=== ${title} ===\n`);
}

/** One program of a demo, running in its own process. */
export class DemoSide {
  readonly program: RunningProgram;
  /** The name shown before each relayed line. */
  readonly label: string;

  /** Starts `script` (a .ts file) with `args`; its lines are relayed with `[label] ` in front. */
  constructor(label: string, script: string, args: string[] = [], options: StartOptions = {}) {
    this.label = label;
    this.program = startProgram(script, args, options);
    this.program.closeStdin();
    relayLines(this.program.child.stdout!, process.stdout, label);
    relayLines(this.program.child.stderr!, process.stderr, label);
  }

  /** Resolves with the first stdout line matching `pattern` (see RunningProgram.waitForLine). */
  waitForLine(pattern: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.program.waitForLine(pattern, timeoutMs === undefined ? {} : { timeoutMs });
  }

  /**
   * Waits for the side to end. Returns true when it exited with `expectedCode`; otherwise prints how
   * it ended and returns false.
   */
  async finished(expectedCode = 0): Promise<boolean> {
    let how: string;
    try {
      const { code, signal } = await this.program.exited;
      if (code === expectedCode) return true;
      how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    } catch (error) {
      how = `failed: ${(error as Error).message.split("\n")[0]}`;
    }
    process.stderr.write(`[${this.label}] ${how}, expected exit code ${expectedCode}\n`);
    return false;
  }

  /** Sends `signal` if the side is still running. */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    this.program.kill(signal);
  }
}

function relayLines(source: Readable, target: NodeJS.WriteStream, label: string): void {
  // The harness reads the streams as bytes; a character cut between two chunks is joined here.
  const decoder = new StringDecoder("utf8");
  let partial = "";
  source.on("data", (chunk: Buffer) => {
    const lines = (partial + decoder.write(chunk)).split("\n");
    partial = lines.pop()!;
    for (const line of lines) target.write(`[${label}] ${line}\n`);
  });
  source.on("end", () => {
    if (partial) target.write(`[${label}] ${partial}\n`);
  });
}
