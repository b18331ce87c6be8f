/**
 * Runs programs as real, separate OS processes for tests: start one, wait for a line on its output
 * (with a timeout whose message says what was awaited), feed its stdin, signal it, and collect its
 * output, exit code and signal. Tests synchronise on these lines, never on sleeps.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { basename, dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { StringDecoder } from "node:string_decoder";

/**
 * The variable that tells a child which of its descriptors (3, 4, …) were handed over, as
 * `@linux-ipc/core`'s `inheritedFds()` reads it in the child.
 */
function inheritedFdsEnv(fds: readonly number[]): { IPC_INHERITED_FDS?: string } {
  return fds.length === 0 ? {} : { IPC_INHERITED_FDS: fds.map((_, index) => String(3 + index)).join(",") };
}

/** How a program is started: its folder, environment, inherited descriptors, node flags and time limit. */
export interface StartOptions {
  /** The program's working folder (default: this process's). */
  cwd?: string;
  /** The program's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Descriptors of this process the program receives as its fds 3, 4, … */
  fds?: number[];
  /** Node flags before the script (`startProgram` only), e.g. `["--import", "tsx"]` to run a .ts file. */
  nodeArgs?: string[];
  /** Milliseconds before `exited` gives up and kills the program (default 60 s). */
  timeoutMs?: number;
}

/** How a program ended, and everything it printed. */
export interface ProgramResult {
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null when it exited. */
  signal: NodeJS.Signals | null;
  /** Standard output decoded as UTF-8 (what `waitForLine` matches). */
  stdout: string;
  /** Standard error decoded as UTF-8. */
  stderr: string;
  /** Standard output as the bytes the program wrote, for byte-exact checks. */
  stdoutBytes: Buffer;
}

/** One of a program's two output streams. */
export type Stream = "stdout" | "stderr";

const running = new Set<RunningProgram>();

/**
 * Ends every program started here that is still running: SIGTERM first, so it cleans up as it would
 * for a user, then SIGKILL after `graceMs`. `testing/index.ts` runs it after each test, so a test
 * that fails or times out leaves no process (and none of the IPC objects a process would leak when
 * killed later without a chance to clean up).
 */
export async function stopLeftoverPrograms(graceMs = 5_000): Promise<void> {
  await Promise.all(
    [...running].map(async (program) => {
      program.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        program.exited.then(
          () => true,
          () => true,
        ),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, false))),
      ]);
      clearTimeout(timer);
      if (!gone) program.kill("SIGKILL");
      await program.exited.catch(() => {});
    }),
  );
}

interface Waiter {
  stream: Stream;
  matches: (line: string) => boolean;
  resolve: (line: string) => void;
}

/**
 * A program running as its own process, started by `startProgram` or `startCommand`. Its output is
 * collected as it comes; `waitForLine` is how a test waits for the program to be ready.
 */
export class RunningProgram {
  /** The Node child process. */
  readonly child: ChildProcess;
  /** The program and its arguments, as error messages name it. */
  readonly name: string;
  /**
   * Settles once the program has ended and its output streams are closed; rejects (and kills the
   * program) if it runs longer than the start option `timeoutMs`.
   */
  readonly exited: Promise<ProgramResult>;
  #output: Record<Stream, string> = { stdout: "", stderr: "" };
  #bytes: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };
  #lines: Record<Stream, string[]> = { stdout: [], stderr: [] };
  #partial: Record<Stream, string> = { stdout: "", stderr: "" };
  #waiters: Waiter[] = [];
  #done = false;

  constructor(command: string, args: string[], options: StartOptions & { name: string }) {
    this.name = options.name;
    const fds = options.fds ?? [];
    // Without these, runMain would move the program to the folder `pnpm test` was typed in.
    const { INIT_CWD: _initCwd, npm_lifecycle_event: _lifecycleEvent, ...env } = options.env ?? process.env;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...env, ...inheritedFdsEnv(fds) },
      stdio: ["pipe", "pipe", "pipe", ...fds],
    });
    for (const stream of ["stdout", "stderr"] as const) {
      const decoder = new StringDecoder("utf8");
      this.child[stream]!.on("data", (chunk: Buffer) => {
        this.#bytes[stream].push(chunk);
        this.#take(stream, decoder.write(chunk));
      });
    }
    const limit = options.timeoutMs ?? 60_000;
    this.exited = new Promise<ProgramResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`${this.name} did not exit within ${limit} ms; output so far:\n${this.transcript()}`));
      }, limit);
      this.child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.child.once("close", (code, signal) => {
        clearTimeout(timer);
        this.#done = true;
        for (const stream of ["stdout", "stderr"] as const) if (this.#partial[stream]) this.#line(stream, this.#partial[stream]);
        resolve({ code, signal, stdout: this.#output.stdout, stderr: this.#output.stderr, stdoutBytes: Buffer.concat(this.#bytes.stdout) });
      });
    });
    running.add(this);
    // A test that never awaits `exited` must not crash the run with an unhandled rejection.
    this.exited.catch(() => {}).finally(() => running.delete(this));
  }

  /** The program's process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Everything printed on stdout so far. */
  get stdout(): string {
    return this.#output.stdout;
  }

  /** Everything printed on stderr so far. */
  get stderr(): string {
    return this.#output.stderr;
  }

  /** Complete lines printed so far on `stream`. */
  lines(stream: Stream = "stdout"): string[] {
    return [...this.#lines[stream]];
  }

  /** Both streams so far, labelled, for failure messages. */
  transcript(): string {
    return `--- stdout ---\n${this.#output.stdout}--- stderr ---\n${this.#output.stderr}`;
  }

  /**
   * Resolves with the first line (already printed or to come) that matches `pattern`. Rejects with
   * a message naming the program and the awaited line if `timeoutMs` passes or the program exits first.
   */
  waitForLine(pattern: string | RegExp, options: { stream?: Stream; timeoutMs?: number; after?: number } = {}): Promise<string> {
    const stream = options.stream ?? "stdout";
    const matches = (line: string): boolean => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line));
    const seen = this.#lines[stream].slice(options.after ?? 0).find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    const timeoutMs = options.timeoutMs ?? 15_000;
    return new Promise<string>((resolve, reject) => {
      const describe = `${stream} line matching ${String(pattern)} from ${this.name}`;
      const waiter: Waiter = {
        stream,
        matches,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a ${describe}\n${this.transcript()}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
      void this.exited.then(
        (result) => {
          if (!this.#waiters.includes(waiter)) return;
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (code ${result.code}, signal ${result.signal}) before printing a ${describe}\n${this.transcript()}`));
        },
        () => {},
      );
    });
  }

  /** Writes to the program's stdin. */
  write(data: string | Uint8Array): void {
    this.child.stdin!.write(data);
  }

  /** Closes the program's stdin: it reads end of file. */
  closeStdin(): void {
    this.child.stdin!.end();
  }

  /** Sends `signal` to the program unless it has already ended. */
  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (!this.#done) this.child.kill(signal);
  }

  #take(stream: Stream, chunk: string): void {
    this.#output[stream] += chunk;
    const parts = (this.#partial[stream] + chunk).split("\n");
    this.#partial[stream] = parts.pop()!;
    for (const line of parts) this.#line(stream, line);
  }

  #line(stream: Stream, line: string): void {
    this.#lines[stream].push(line);
    for (const waiter of [...this.#waiters]) {
      if (waiter.stream === stream && waiter.matches(line)) {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        waiter.resolve(line);
      }
    }
  }
}

/** Starts a JavaScript program in a new node process (this process's node binary). */
export function startProgram(script: string, args: string[] = [], options: StartOptions = {}): RunningProgram {
  return new RunningProgram(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    ...options,
    name: `${basename(script)} ${args.join(" ")}`.trim(),
  });
}

/** Starts any executable (a compiled C peer, `cat`, `sh -c …`). */
export function startCommand(command: string, args: string[] = [], options: StartOptions = {}): RunningProgram {
  return new RunningProgram(command, args, { ...options, name: `${basename(command)} ${args.join(" ")}`.trim() });
}

/** Runs a program to completion, with `input` on its stdin. */
export async function runProgram(script: string, args: string[] = [], options: StartOptions & { input?: string | Uint8Array } = {}): Promise<ProgramResult> {
  const program = startProgram(script, args, options);
  if (options.input !== undefined) program.write(options.input);
  program.closeStdin();
  return program.exited;
}

/** Runs any executable to completion, with `input` on its stdin. */
export async function runCommand(command: string, args: string[] = [], options: StartOptions & { input?: string | Uint8Array } = {}): Promise<ProgramResult> {
  const program = startCommand(command, args, options);
  if (options.input !== undefined) program.write(options.input);
  program.closeStdin();
  return program.exited;
}

/**
 * The compiled form of program `name` for a test kept beside the program's source: from a test at
 * `<package>/src/<folder>/x.test.ts`, `<package>/dist/<folder>/<name>.js` (tsc's outDir mirrors
 * its rootDir). Pass `import.meta.url` of the test file.
 */
export function compiledProgram(testFileUrl: string, name: string): string {
  const folder = dirname(fileURLToPath(testFileUrl));
  const at = folder.lastIndexOf(`${sep}src`);
  if (at < 0 || !(folder.length === at + 4 || folder[at + 4] === sep)) throw new Error(`compiledProgram: ${folder} is not inside a src folder`);
  return join(folder.slice(0, at), "dist", folder.slice(at + 4), `${name}.js`);
}
