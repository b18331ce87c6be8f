/**
 * `pnpm --filter unrelated demo`: both pairs of this example, each program in its own process, with
 * short intervals. First writer then reader (P2/P3): the message outlives the writer, in the file.
 * Then map-write and map-read side by side (P7/P8): the reader's count climbs while the writer counts.
 * Everything is created in a temporary folder that is removed at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTerminationSignal, parseCommand, runMain, DemoSide, printHeading, siblingProgram } from "@linux-ipc/programs";

const program = (name: string): string => siblingProgram(import.meta.url, name);

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "Run writer/reader (P2/P3), then map-write/map-read (P7/P8), as separate processes.", options: {} });
  let dir = "";
  const removeDir = (): void => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanup = onTerminationSignal(removeDir);
  try {
    dir = mkdtempSync(join(tmpdir(), "unrelated-demo-"));
    printHeading("unrelated: writer/reader (P2/P3)");
    const shared = join(dir, "shared");
    let ok = await new DemoSide("writer", program("writer"), [shared, "--message", "我是你爹"]).finished();
    if (ok) ok = await new DemoSide("reader", program("reader"), [shared]).finished();

    printHeading("unrelated: map-write/map-read (P7/P8)");
    const counter = join(dir, "conn_stat");
    const mapWrite = new DemoSide("map-write", program("map-write"), [counter, "--max", "8", "--interval", "250"]);
    try {
      await mapWrite.waitForLine("count: 1");
      const mapRead = new DemoSide("map-read", program("map-read"), [counter, "--reads", "5", "--interval", "400"]);
      ok = (await mapRead.finished()) && ok;
    } finally {
      ok = (await mapWrite.finished()) && ok;
    }
    return ok ? 0 : 1;
  } finally {
    stopCleanup();
    removeDir();
  }
});
