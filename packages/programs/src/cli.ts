/**
 * The programs' layer (Stevens' err_sys lives here, not in the bindings): argument parsing through
 * `node:util` parseArgs, `--help`, usage errors, numbers in decimal or 0x hex, and `runMain`, which
 * turns what a program's main throws into a one-line message on stderr and exit code 1.
 * Nothing here calls process.exit: a program ends when its work and its handles are done.
 */
import { parseArgs } from "node:util";
import { SystemError, exitWithParent, isSystemError, strerror } from "@linux-ipc/core";
import { END_WITH_PARENT_ENV, afterSignalListeners, endWithPackageManager, keepSignalsIgnoredAtStart } from "./signals.ts";

/**
 * One option of a program. `mode` is permission bits written in octal (`600`, `0600`, `0o600`),
 * read as a number; its default is a number too, shown in octal in the usage text.
 */
export interface OptionSpec {
  type: "string" | "boolean" | "integer" | "mode";
  short?: string;
  /** Shown in the usage text. */
  description: string;
  /** The placeholder shown in the usage text (e.g. MS, N, PATH). */
  value?: string;
  default?: string | boolean | number;
  /** Bounds for integers (inclusive). */
  min?: number;
  max?: number;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** The program name as run: `pnpm --filter unrelated writer` shows as `writer`. */
  name: string;
  /** One line: what the program does (first line of --help). */
  summary: string;
  /** Positional arguments by name, in order; a trailing `?` marks an optional one. */
  positionals?: readonly string[];
  options: O;
  /** Extra paragraphs for --help. */
  details?: string;
}

type OptionValue<S extends OptionSpec> = S["type"] extends "boolean"
  ? boolean
  : S["type"] extends "integer" | "mode"
    ? S extends { default: number }
      ? number
      : number | undefined
    : S extends { default: string }
      ? string
      : string | undefined;

export interface ParsedCommand<O extends Record<string, OptionSpec>> {
  values: { [K in keyof O]: OptionValue<O[K]> };
  positionals: string[];
}

/** A bad command line: runMain prints the message and the usage on stderr and exits 1. */
export class UsageError extends Error {
  readonly code = "ERR_USAGE";
  /** The program's usage text, printed after the message. */
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

/** Thrown for --help: runMain prints the text on stdout and exits 0. */
export class HelpRequested extends Error {
  readonly code = "HELP";
  /** The help text to print. */
  readonly text: string;
  constructor(text: string) {
    super("help requested");
    this.text = text;
  }
}

/**
 * Parses an integer as C's strtol with base 0 would for these programs: decimal, or hex with 0x;
 * a leading minus is allowed. Throws a RangeError naming `what` on anything else.
 */
export function parseInteger(text: string, what: string): number {
  const match = /^(-)?(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(text.trim());
  if (!match) throw new RangeError(`${what} must be an integer in decimal or 0x hex, not '${text}'`);
  const magnitude = Number(match[2]!.toLowerCase().startsWith("0x") ? BigInt(match[2]!) : BigInt(match[2]!));
  const value = match[1] ? -magnitude : magnitude;
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} '${text}' is out of range`);
  return value;
}

/** A tutorial program's number, P1 to P14, in a help text. */
const TUTORIAL_PROGRAM = /\bP(?:1[0-4]|[1-9])\b/;

/** Where a reader of a help text that names a tutorial program finds what it is. */
const TUTORIAL_POINTER = "P1…P14 are the tutorial programs: see docs/tutorials.md in the repository.";

export function usageText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const positionals = (spec.positionals ?? []).map((p) => (p.endsWith("?") ? `[${p.slice(0, -1)}]` : p));
  const synopsis = [spec.name, ...positionals, ...Object.entries(spec.options).map(([name, o]) => `[--${name}${o.type === "boolean" ? "" : ` ${o.value ?? "VALUE"}`}]`)];
  const lines = [`usage: ${synopsis.join(" ")}`, "", spec.summary, "", "options:"];
  for (const [name, option] of Object.entries(spec.options)) {
    const flag = `  ${option.short ? `-${option.short}, ` : ""}--${name}${option.type === "boolean" ? "" : ` ${option.value ?? "VALUE"}`}`;
    const shown = option.type === "mode" && typeof option.default === "number" ? octalMode(option.default) : option.default;
    const def = option.default === undefined || option.type === "boolean" ? "" : ` (default: ${shown})`;
    lines.push(`${flag.padEnd(28)} ${option.description}${def}`);
  }
  lines.push(`${"  -h, --help".padEnd(28)} show this help and exit`);
  if (spec.details) lines.push("", spec.details);
  if (TUTORIAL_PROGRAM.test(`${spec.summary}\n${spec.details ?? ""}`)) lines.push("", TUTORIAL_POINTER);
  return lines.join("\n");
}

/** Parses `argv` (default: this process's arguments) against `spec`. Throws UsageError or HelpRequested. */
export function parseCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: string[] = process.argv.slice(2)): ParsedCommand<O> {
  const usage = usageText(spec);
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = { help: { type: "boolean", short: "h" } };
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = { type: option.type === "boolean" ? "boolean" : "string", ...(option.short ? { short: option.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(argv, spec.options), options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains some mistakes over several lines: the first one names the problem.
    throw new UsageError(`${spec.name}: ${(error as Error).message.split("\n")[0]}`, usage);
  }
  if (parsed.values.help) throw new HelpRequested(usage);

  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => !p.endsWith("?")).length;
  if (parsed.positionals.length < required) {
    throw new UsageError(`${spec.name}: missing ${declared[parsed.positionals.length]!.replace(/\?$/, "")}`, usage);
  }
  if (parsed.positionals.length > declared.length) {
    throw new UsageError(`${spec.name}: unexpected argument '${parsed.positionals[declared.length]}'`, usage);
  }

  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const raw = parsed.values[name];
    if (option.type === "boolean") {
      values[name] = raw === true;
    } else if (raw === undefined) {
      values[name] = option.default;
    } else if (option.type === "integer") {
      let value: number;
      try {
        value = parseInteger(raw as string, `--${name}`);
      } catch (error) {
        throw new UsageError(`${spec.name}: ${(error as Error).message}`, usage);
      }
      if ((option.min !== undefined && value < option.min) || (option.max !== undefined && value > option.max)) {
        const range = option.max === undefined ? `at least ${option.min}` : option.min === undefined ? `at most ${option.max}` : `between ${option.min} and ${option.max}`;
        throw new UsageError(`${spec.name}: --${name} must be ${range}, not ${raw}`, usage);
      }
      values[name] = value;
    } else if (option.type === "mode") {
      const match = /^(?:0o?)?([0-7]{1,3})$/i.exec((raw as string).trim());
      if (!match) throw new UsageError(`${spec.name}: --${name} must be octal permission bits such as 0600, not '${raw}'`, usage);
      values[name] = Number.parseInt(match[1]!, 8);
    } else {
      values[name] = raw;
    }
  }
  return { values: values as ParsedCommand<O>["values"], positionals: parsed.positionals };
}

/**
 * parseArgs reads `--key -5` as an option followed by another option and calls it ambiguous; for an
 * integer option a negative number is the obvious meaning, so it is passed on as `--key=-5` (and the
 * range check then says what is wrong with it).
 */
function joinNegativeNumbers(argv: readonly string[], options: Record<string, OptionSpec>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    if (token.startsWith("--") && options[token.slice(2)]?.type === "integer" && next !== undefined && /^-(\d|0[xX])/.test(next)) {
      joined.push(`${token}=${next}`);
      i++;
    } else {
      joined.push(token);
    }
  }
  return joined;
}

/**
 * The line `perror(syscall)` prints: `open: No such file or directory`, naming the path when there is
 * one, and what the errno alone does not say (e.g. the kernel limit a size passed) in parentheses.
 */
export function perrorLine(error: SystemError): string {
  const line = error.path === undefined ? `${error.syscall}: ${strerror(error.errno)}` : `${error.syscall} '${error.path}': ${strerror(error.errno)}`;
  return error.note === undefined ? line : `${line} (${error.note})`;
}

/** Prints `prefix: <reason>` on stderr, as C's perror does. */
export function perror(prefix: string, error: unknown): void {
  const reason = error instanceof SystemError ? strerror(error.errno) : error instanceof Error ? error.message : String(error);
  process.stderr.write(`${prefix}: ${reason}\n`);
}

/** The one-line message for anything a program's main throws. */
export function describeFailure(programName: string, error: unknown): string {
  if (error instanceof SystemError) return `${programName}: ${perrorLine(error)}`;
  if (error instanceof Error) return `${programName}: ${error.message}`;
  return `${programName}: ${String(error)}`;
}

/**
 * Runs a program's main: --help prints and exits 0; a usage error prints the message and the usage on
 * stderr and exits 1; any other error prints one line on stderr and exits 1, or an ExitError's
 * `exitCode`. The exit code is set, never forced, so cleanup still runs. An
 * EINTR is reported only after the signal listeners have run (`afterSignalListeners`): core's sync
 * waits throw it when a termination signal the program listens for interrupts them, and the
 * listener (`onTerminationSignal`) then runs its cleanup and ends the program by that signal, with
 * nothing printed.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a main that returns nothing is typed `() => void` or `() => Promise<void>`, which only void accepts
export async function runMain(programName: string, main: () => Promise<number | void> | number | void): Promise<void> {
  startInInvokingFolder();
  keepSignalsIgnoredAtStart();
  if (startedByPackageManager()) endWithPackageManager();
  else if (process.env[END_WITH_PARENT_ENV] === "1") exitWithParent("SIGHUP");
  try {
    const code = await main();
    if (typeof code === "number") process.exitCode = code;
  } catch (error) {
    if (isSystemError(error, "EINTR")) await afterSignalListeners();
    if (error instanceof HelpRequested) {
      process.stdout.write(`${error.text}\n`);
      process.exitCode = 0;
    } else if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${error.usage}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`${describeFailure(programName, error)}\n`);
      process.exitCode = error instanceof ExitError ? error.exitCode : 1;
    }
  }
}

/**
 * `pnpm --filter <pkg> <script> a.txt` runs the program in the package's folder, but the learner typed
 * `a.txt` (and expects `./fifo`) relative to the folder they were in, which pnpm and npm pass on as
 * INIT_CWD. A program run by a package manager script therefore starts there. The test harness
 * removes these variables, so a program started by a test keeps the folder the test gave it.
 */
function startInInvokingFolder(): void {
  const invokedFrom = startedByPackageManager() ? process.env.INIT_CWD : undefined;
  if (invokedFrom && invokedFrom !== process.cwd()) process.chdir(invokedFrom);
}

/**
 * An error that ends a program with a given exit code (the C programs' `exit(2)` and the like): the
 * one way a program chooses its exit code on failure. runMain prints `program: <message>`.
 */
export class ExitError extends Error {
  /** The exit code the program ends with. */
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }

  /**
   * `error` (anything a call threw) as an ExitError with `exitCode`: its message is the line runMain
   * would have printed for it (`open 'x': No such file or directory` for a system error), and the
   * error itself is kept as the cause.
   */
  static from(error: unknown, exitCode: number): ExitError {
    const message = error instanceof SystemError ? perrorLine(error) : error instanceof Error ? error.message : String(error);
    return new ExitError(message, exitCode, { cause: error });
  }
}

/** Whether a package manager's script started this program (pnpm and npm set npm_lifecycle_event). */
function startedByPackageManager(): boolean {
  return process.env.npm_lifecycle_event !== undefined;
}

/** Permission bits as a program shows them: `0600`. */
export function octalMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
