/**
 * demo: a server and a client in separate processes, chatting both ways over FIFOs (P11/P12 plus
 * the two-way protocol of protocol.ts), then a plain shell `echo` as a one-way client, then the
 * client's end of input, which ends the server too.
 *
 * It types into each side's stdin as a person at two terminals would, waiting each time for the
 * other side to print what was sent, and echoes every line each side prints as `[server] …` and
 * `[client] …` (stderr lines too). Everything lives in a fresh temporary directory, removed at the
 * end; exit code 1 if either side failed or anything did not arrive within 10 seconds.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { endingWithParent, runMain, parseCommand, onTerminationSignal, siblingProgram } from "@linux-ipc/programs";
import { spawnWithFds, waitForExit } from "@linux-ipc/core";

const WAIT_MS = 10_000;
/** The programs of this example a Side starts with node; any other command is run as it is. */
const OWN_PROGRAMS = new Set(["server", "client"]);

/** One running program of the demo: its printed lines are echoed and can be waited for. */
class Side {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #lines: string[] = [];
  readonly #listeners = new Set<() => void>();
  #closed = false;

  readonly name: string;

  constructor(name: string, command: string, args: string[]) {
    this.name = name;
    const shown = [command, ...args].map((word) => (/[\s"$>]/.test(word) ? `'${word}'` : word));
    console.log(`$ ${shown.join(" ")}`);
    this.child = OWN_PROGRAMS.has(command)
      ? spawnWithFds(siblingProgram(import.meta.url, command), args, { stdio: ["pipe", "pipe", "pipe"], env: endingWithParent() })
      : spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        console.log(`[${name}] ${line}`);
        this.#lines.push(line);
        this.#notify();
      });
    }
    this.child.once("close", () => {
      this.#closed = true;
      this.#notify();
    });
    this.exited = waitForExit(this.child);
  }

  /** Resolves once this side has printed a line containing `text`. */
  printed(text: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        if (this.#lines.some((line) => line.includes(text))) finish();
        else if (this.#closed) finish(new Error(`${this.name} ended before printing '${text}'`));
      };
      const timer = setTimeout(() => finish(new Error(`${this.name} did not print '${text}' within ${WAIT_MS} ms`)), WAIT_MS);
      this.#listeners.add(check);
      check();
    });
  }

  type(text: string): void {
    console.log(`[${this.name} stdin] ${text}`);
    this.child.stdin!.write(`${text}\n`);
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "a server and a client chatting both ways over FIFOs, in separate processes", options: {} });
  console.log("=== fifo-chat: server/client over FIFOs, both ways (P11/P12) ===");
  const dir = mkdtempSync(join(tmpdir(), "fifo-chat-demo-"));
  const fifo = join(dir, "fifo");
  const sides: Side[] = [];
  const stopAll = (): void => {
    for (const side of sides) side.child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanupOnSignal = onTerminationSignal(stopAll);
  try {
    const server = new Side("server", "server", ["--chat", "--fifo", fifo]);
    sides.push(server);
    await server.printed("reading");
    const client = new Side("client", "client", ["--chat", "--fifo", fifo]);
    sides.push(client);
    await server.printed("joined");

    const conversation: Array<[string, string]> = [
      ["hello server", "hello client"],
      ["two FIFOs make a two-way pipe", "one for each direction"],
    ];
    for (const [question, answer] of conversation) {
      client.type(question);
      await server.printed(`Client#: ${question}`);
      server.type(answer);
      await client.printed(`Server#: ${answer}`);
    }

    const echo = new Side("sh", "sh", ["-c", 'echo "a one-way line from a shell" > "$1"', "sh", fifo]);
    sides.push(echo);
    await server.printed("Client#: a one-way line from a shell");

    client.child.stdin!.end();
    const results = await Promise.all(sides.map(async (side) => [side.name, await side.exited] as const));
    const failed = results.filter(([, { code }]) => code !== 0);
    for (const [name, { code, signal }] of failed) console.error(`demo: ${name} ended with ${signal ?? `exit code ${code}`}`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    stopCleanupOnSignal();
    stopAll();
  }
});
