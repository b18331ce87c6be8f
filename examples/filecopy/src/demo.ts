/**
 * `pnpm --filter filecopy demo`: runs copy (P4) as a separate process on a 3 MiB random file, with
 * 1 MiB windows so the copy takes several, checks that the copy is identical, then shows that
 * copying a file onto itself is refused and leaves it intact. Everything is created in a temporary
 * folder that is removed at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTerminationSignal, parseCommand, runMain, DemoSide, printHeading, siblingProgram } from "@linux-ipc/programs";

const copy = siblingProgram(import.meta.url, "copy");
const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "Copy a file with copy (P4), then try to copy it onto itself.", options: {} });
  let dir = "";
  const removeDir = (): void => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanup = onTerminationSignal(removeDir);
  try {
    dir = mkdtempSync(join(tmpdir(), "filecopy-demo-"));
    printHeading("filecopy: copy a file through two memory mappings, 1 MiB at a time (P4)");
    const source = join(dir, "source.bin");
    const target = join(dir, "copy.bin");
    const original = randomBytes(3 * MiB + 5);
    writeFileSync(source, original);
    console.log(`source.bin: ${original.byteLength} random bytes, sha256 ${sha256(original)}`);
    const env = { ...process.env, FILECOPY_WINDOW_BYTES: String(MiB) };
    let ok = await new DemoSide("copy", copy, [source, target], { env }).finished();
    if (ok) {
      const copied = readFileSync(target);
      ok = copied.equals(original);
      console.log(`copy.bin:   ${copied.byteLength} bytes, sha256 ${sha256(copied)}: ${ok ? "identical" : "DIFFERENT"}`);
    }

    printHeading("filecopy: copying a file onto itself is refused");
    const refused = await new DemoSide("copy", copy, [source, source]).finished(1);
    const intact = readFileSync(source).equals(original);
    console.log(`${refused ? "refused with exit code 1" : "NOT refused"}; source.bin is ${intact ? "intact" : "DAMAGED"}`);
    return ok && refused && intact ? 0 : 1;
  } finally {
    stopCleanup();
    removeDir();
  }
});
