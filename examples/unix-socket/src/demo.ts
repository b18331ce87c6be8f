/**
 * `pnpm --filter unix-socket demo`: mycat printing a file that openfile opened and sent it over a
 * socketpair, then mycat on a file that does not exist (openfile's exit status carries the errno), the
 * socketpair parent and child talking both ways at once, and a peercred server naming a client from
 * the kernel. Everything is created in a temporary folder that is removed at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoSide, onTerminationSignal, parseCommand, printHeading, runMain, siblingProgram } from "@linux-ipc/programs";

const program = (name: string): string => siblingProgram(import.meta.url, name);

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "mycat and openfile, socketpair, and peercred, one after another.", options: {} });
  let dir = "";
  const removeDir = (): void => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanup = onTerminationSignal(removeDir);
  try {
    dir = mkdtempSync(join(tmpdir(), "unix-socket-demo-"));
    const file = join(dir, "greeting.txt");
    writeFileSync(file, "This file was opened by openfile, and its descriptor sent to mycat over a socketpair.\n");

    printHeading("unix-socket: mycat prints a file that openfile opened and passed back (UNP vol. 1, 15.7)");
    let ok = await new DemoSide("mycat", program("mycat"), [file]).finished();

    printHeading("unix-socket: openfile cannot open the file, and its exit status is the errno");
    ok = (await new DemoSide("mycat", program("mycat"), [join(dir, "missing.txt")]).finished(1)) && ok;

    printHeading("unix-socket: P10 over a socketpair, parent and child both ways at once");
    ok = (await new DemoSide("socketpair", program("socketpair"), ["--count", "3", "--interval", "200"]).finished()) && ok;

    printHeading("unix-socket: peercred learns who its client is from the kernel (SO_PEERCRED)");
    const path = join(dir, "peercred.sock");
    const server = new DemoSide("peercred", program("peercred"), ["--socket", path, "--count", "1"]);
    await server.waitForLine("listening on");
    ok = (await new DemoSide("peercred-client", program("peercred-client"), ["--socket", path]).finished()) && ok;
    ok = (await server.finished()) && ok;
    return ok ? 0 : 1;
  } finally {
    stopCleanup();
    removeDir();
  }
});
