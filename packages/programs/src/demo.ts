/**
 * The one way the examples run another program as a child process: `DemoSide`, for the `demo`
 * scripts and for the programs that stage other processes (a tour, the pipe rules). Each side runs
 * as its own process, and every line it prints is relayed as soon as it is printed, labelled
 * `[side] line` (stdout to stdout, stderr to stderr), so a learner sees the programs interleave as
 * they would in two terminals; or, with `relay: false`, kept for the caller to read. A demo waits for
 * a side's readiness line before starting the other, types into a side's stdin, and ends non-zero
 * when a side did not end as expected. Every side started and still running can be signalled at
 * once (`DemoSide.killAll`), so a demo passes a Ctrl-C on to its sides.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { spawnWithFds, waitForExit, type SpawnWithFdsOptions, type StdioEntry } from "@linux-ipc/core";
import { END_WITH_PARENT_ENV } from "./signals.ts";

/** The line that opens each part of a demo: `=== unrelated: writer/reader (P2/P3) ===`. */
export function printHeading(title: string): void {
  process.stdout.write(`=== ${title} ===\n`);
}

/** Prints the command a demo runs next, as a shell would show it: `$ writer /tmp/shared --message hi`. */
export function printCommand(name: string, args: readonly string[] = []): void {
  const shown = [name, ...args].map((word) => (/^[\w./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`));
  process.stdout.write(`$ ${shown.join(" ")}\n`);
}

/** How long `waitForLine` waits by default before it gives up. */
const LINE_WAIT_MS = 15_000;

/** How a side is started, beyond its program and arguments. */
export interface DemoSideOptions extends Omit<SpawnWithFdsOptions, "stdio"> {
  /** Its stdin: none (default), a pipe written with `write`/`closeStdin`, or a descriptor of this process. */
  stdin?: "ignore" | "pipe" | number;
  /** Its stdout: a pipe whose lines are relayed or kept (default), or a descriptor of this process. */
  stdout?: "pipe" | number;
  /** Relay its lines, labelled, as they come (default); false keeps them for the caller only. */
  relay?: boolean;
  /**
   * True when the program is an executable run as it is (`sh`, `yes`, a compiled C program), not a
   * JavaScript file run by node. Such a side is not told to end with its parent (only this project's
   * programs read END_WITH_PARENT_ENV): kill it when done.
   */
  executable?: boolean;
}

/** How a side ended. */
export interface SideExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One program run as its own process, by a demo or by a program that stages others. */
export class DemoSide {
  /** The sides started and not yet ended, for `killAll`. */
  static readonly #running = new Set<DemoSide>();

  /** The running program. */
  readonly child: ChildProcess;
  /** The name shown before each relayed line. */
  readonly label: string;
  /** Resolves with its exit code or signal once it has ended and its output is read. */
  readonly exited: Promise<SideExit>;
  readonly #lines: Record<"stdout" | "stderr", string[]> = { stdout: [], stderr: [] };
  readonly #listeners = new Set<() => void>();
  #ended = false;

  /**
   * Starts `program` (a JavaScript file, or an executable with `executable: true`) with `args`; its
   * lines are relayed with `[label] ` in front. A JavaScript side ends (by SIGHUP, running its
   * cleanup) if the demo dies before it.
   */
  constructor(label: string, program: string, args: string[] = [], options: DemoSideOptions = {}) {
    const { stdin = "ignore", stdout = "pipe", relay = true, executable = false, ...spawnOptions } = options;
    const stdio: [StdioEntry, StdioEntry, StdioEntry] = [stdin, stdout, "pipe"];
    this.label = label;
    if (executable) {
      const { fds = [], execArgv: _node, ...rest } = spawnOptions;
      this.child = spawn(program, args, { ...rest, stdio: [...stdio, ...fds] });
    } else {
      const env = { ...(spawnOptions.env ?? process.env), [END_WITH_PARENT_ENV]: "1" };
      this.child = spawnWithFds(program, args, { ...spawnOptions, env, stdio });
    }
    this.exited = this.#watch(relay);
    // Whoever awaits it sees a failure to start; nobody has to.
    this.exited.catch(() => {});
  }

  /** Sends `signal` to every side still running (a demo's Ctrl-C, passed on). */
  static killAll(signal: NodeJS.Signals = "SIGTERM"): void {
    for (const side of DemoSide.#running) side.kill(signal);
  }

  /** The side's process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Resolves with the first line (already printed or to come) on `stream` (stdout by default) that
   * contains `pattern` or matches it; rejects, naming the side and the line, if the side exits first
   * or `timeoutMs` passes.
   */
  waitForLine(pattern: string | RegExp, { stream = "stdout", timeoutMs = LINE_WAIT_MS }: { stream?: "stdout" | "stderr"; timeoutMs?: number } = {}): Promise<string> {
    const matches = (line: string): boolean => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const line = this.#lines[stream].find(matches);
        if (line !== undefined) finish(() => resolve(line));
        else if (this.#ended) finish(() => reject(new Error(`${this.label} ended before printing a line matching ${String(pattern)}`)));
      };
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.label}: no line matching ${String(pattern)} within ${timeoutMs} ms`))), timeoutMs);
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
      const { code, signal } = await this.exited;
      if (code === expectedCode) return true;
      how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    } catch (error) {
      how = `failed: ${(error as Error).message.split("\n")[0]}`;
    }
    process.stderr.write(`[${this.label}] ${how}, expected exit code ${expectedCode}\n`);
    return false;
  }

  /** Writes `text` to the side's stdin (started with `stdin: "pipe"`). */
  write(text: string | Uint8Array): void {
    this.child.stdin!.write(text);
  }

  /** Closes the side's stdin: its end of input. */
  closeStdin(): void {
    this.child.stdin!.end();
  }

  /** The lines the side printed on stdout so far. */
  get stdout(): string {
    return this.#lines.stdout.map((line) => `${line}\n`).join("");
  }

  /** The lines the side printed on stderr so far. */
  get stderr(): string {
    return this.#lines.stderr.map((line) => `${line}\n`).join("");
  }

  /** Sends `signal` if the side is still running. */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  #watch(relay: boolean): Promise<SideExit> {
    DemoSide.#running.add(this);
    const notify = (): void => {
      for (const listener of [...this.#listeners]) listener();
    };
    const streams: Array<[Readable | null, "stdout" | "stderr", NodeJS.WriteStream]> = [
      [this.child.stdout, "stdout", process.stdout],
      [this.child.stderr, "stderr", process.stderr],
    ];
    const read = streams.map(([source, name, target]) =>
      source === null
        ? Promise.resolve()
        : readLines(source, (line) => {
            if (relay) target.write(`[${this.label}] ${line}\n`);
            this.#lines[name].push(line);
            notify();
          }),
    );
    // Ended once it has exited and all it printed is read: a line printed last is never missed.
    return Promise.all([waitForExit(this.child), ...read])
      .then(([exit]) => exit)
      .finally(() => {
        this.#ended = true;
        DemoSide.#running.delete(this);
        notify();
      });
  }
}

/** Calls `onLine` for each line of `source` (a last one without "\n" too); resolves at its end. */
function readLines(source: Readable, onLine: (line: string) => void): Promise<void> {
  // A character cut between two chunks is joined by the decoder.
  const decoder = new StringDecoder("utf8");
  let partial = "";
  source.on("data", (chunk: Buffer) => {
    const lines = (partial + decoder.write(chunk)).split("\n");
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  return new Promise((resolve) => {
    source.once("close", () => {
      if (partial) onLine(partial);
      resolve();
    });
  });
}
