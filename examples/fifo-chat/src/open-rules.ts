/**
 * open-rules: the FIFO open rules of the tutorial, each tried for real, one line per rule.
 *
 *   open(O_RDONLY | O_NONBLOCK) with no writer   succeeds at once
 *   open(O_WRONLY | O_NONBLOCK) with no reader   fails with ENXIO
 *   open(O_RDONLY) with no writer                waits until some process opens for writing
 *   open(O_WRONLY) with no reader                waits until some process opens for reading
 *
 * The two waiting opens are made by a second process (`sh`, whose redirection is a plain blocking
 * open), because a blocking open in this process would freeze it. This process reads /proc to see
 * that the shell sleeps inside open(), only then opens the other end, and checks that the shell's
 * open returned. Every outcome is checked: an unexpected one ends the program with exit code 1.
 * On Linux an O_RDWR open never waits (POSIX leaves it undefined); the last line shows it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoSide, runMain, parseCommand, onTerminationSignal } from "@linux-ipc/programs";
import { open, O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_CLOEXEC, close, mkfifo, isSystemError, strerror, type SystemError, waitUntilBlocked } from "@linux-ipc/core";

// Owner-only: this program is its own reader and writer, nobody else needs the FIFO.
const FIFO_MODE = 0o600;

function report(rule: string, outcome: string): void {
  console.log(`${rule.padEnd(44)} ${outcome}`);
}

/**
 * Starts `sh` doing a blocking open of `path`, waits until it sleeps in open(), then opens the other
 * end here (nonblocking: the sleeping shell already counts as the peer), and checks that the shell's
 * open then returned.
 */
async function blockingOpenInAnotherProcess(path: string, shellOpensFor: "reading" | "writing"): Promise<string> {
  const redirection = shellOpensFor === "reading" ? "<" : ">";
  const shell = new DemoSide("sh", "sh", ["-c", `exec 3${redirection}"$1" && echo opened`, "sh", path], { executable: true, relay: false });
  let ours: number | null = null;
  try {
    const blocked = await waitUntilBlocked(shell.pid, ["open", "openat"]);
    if (shell.stdout.length > 0) throw new Error(`the shell printed '${shell.stdout}' while its open() was still blocked`);
    const otherEnd = shellOpensFor === "reading" ? "writing" : "reading";
    ours = open(path, (otherEnd === "writing" ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
    const { code, signal } = await shell.exited;
    if (code !== 0 || shell.stdout !== "opened\n") throw new Error(`the shell's open() did not complete (ended with ${signal ?? `exit code ${code}`})`);
    return `sh (pid ${shell.pid}) slept in open() (kernel: ${blocked.wchan}) until this process opened the FIFO for ${otherEnd}`;
  } finally {
    if (ours !== null) close(ours);
    shell.kill();
  }
}

await runMain("open-rules", async () => {
  parseCommand({ name: "open-rules", summary: "try each FIFO open rule for real and print what happened", options: {} });
  const dir = mkdtempSync(join(tmpdir(), "fifo-open-rules-"));
  const cleanup = (): void => {
    DemoSide.killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanupOnSignal = onTerminationSignal(cleanup);
  const path = join(dir, "fifo");
  try {
    mkfifo(path, FIFO_MODE);

    const reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    close(reader);
    report("open(O_RDONLY | O_NONBLOCK), no writer:", `succeeded at once (fd ${reader})`);

    let failure: SystemError | null = null;
    try {
      close(open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    } catch (error) {
      if (!isSystemError(error)) throw error;
      failure = error;
    }
    if (failure?.code !== "ENXIO") throw new Error(`open(O_WRONLY | O_NONBLOCK) with no reader should fail with ENXIO, not ${failure ? failure.code : "succeed"}`);
    report("open(O_WRONLY | O_NONBLOCK), no reader:", `failed with ENXIO (${strerror(failure.errno)})`);

    report("open(O_RDONLY), no writer:", await blockingOpenInAnotherProcess(path, "reading"));
    report("open(O_WRONLY), no reader:", await blockingOpenInAnotherProcess(path, "writing"));

    const both = open(path, O_RDWR | O_CLOEXEC);
    close(both);
    report("open(O_RDWR), nobody else:", "succeeded at once on Linux: the process is its own reader and writer");
  } finally {
    stopCleanupOnSignal();
    cleanup();
  }
});
