/**
 * demo: a server and a client in separate processes, chatting both ways over FIFOs (P11/P12 plus
 * the two-way protocol of protocol.ts), then a plain shell `echo` as a one-way client, then the
 * client's end of input, which ends the server too.
 *
 * It types into each side's stdin as a person at two terminals would, waiting each time for the
 * other side to print what was sent, and relays every line each side prints as `[server] …` and
 * `[client] …` (stderr lines on stderr). Everything lives in a fresh temporary directory, removed at
 * the end; exit code 1 if either side failed or anything did not arrive within 15 seconds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoSide, printCommand, printHeading, runMain, parseCommand, onTerminationSignal, siblingProgram } from "@linux-ipc/programs";

/** Starts program `name` of this example with its stdin a pipe to type into, after showing its command line. */
function start(name: string, args: string[]): DemoSide {
  printCommand(name, args);
  return new DemoSide(name, siblingProgram(import.meta.url, name), args, { stdin: "pipe" });
}

/** Types `text` and a newline into `side`'s stdin, showing it as typed. */
function type(side: DemoSide, text: string): void {
  console.log(`[${side.label} stdin] ${text}`);
  side.write(`${text}\n`);
}

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "a server and a client chatting both ways over FIFOs, in separate processes", options: {} });
  printHeading("fifo-chat: server/client over FIFOs, both ways (P11/P12)");
  const dir = mkdtempSync(join(tmpdir(), "fifo-chat-demo-"));
  const fifo = join(dir, "fifo");
  const sides: DemoSide[] = [];
  const stopAll = (): void => {
    for (const side of sides) side.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanupOnSignal = onTerminationSignal(stopAll);
  try {
    const server = start("server", ["--chat", "--fifo", fifo]);
    sides.push(server);
    await server.waitForLine("reading", { stream: "stderr" });
    const client = start("client", ["--chat", "--fifo", fifo]);
    sides.push(client);
    await server.waitForLine("joined", { stream: "stderr" });

    const conversation: Array<[string, string]> = [
      ["hello server", "hello client"],
      ["two FIFOs make a two-way pipe", "one for each direction"],
    ];
    for (const [question, answer] of conversation) {
      type(client, question);
      await server.waitForLine(`Client#: ${question}`);
      type(server, answer);
      await client.waitForLine(`Server#: ${answer}`);
    }

    const shell = ["-c", 'echo "a one-way line from a shell" > "$1"', "sh", fifo];
    printCommand("sh", shell);
    const echo = new DemoSide("sh", "sh", shell, { executable: true });
    sides.push(echo);
    await server.waitForLine("Client#: a one-way line from a shell");

    client.closeStdin();
    const results = await Promise.all(sides.map((side) => side.finished()));
    return results.every(Boolean) ? 0 : 1;
  } finally {
    stopCleanupOnSignal();
    stopAll();
  }
});
