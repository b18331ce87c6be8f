/**
 * `pnpm --filter filecopy demo`: runs copy (P4) as a separate process on a 3 MiB random file, then
 * safe-copy with 1 MiB windows so the copy takes several, checks that each copy is identical, then
 * shows that safe-copy refuses to copy a file onto itself and leaves it intact. Everything is
 * created in a temporary folder that is removed at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { onTerminationSignal, parseCommand, runMain, DemoSide, printHeading, siblingProgram } from "@linux-ipc/programs";

const copy = siblingProgram(import.meta.url, "copy");
const safeCopy = siblingProgram(import.meta.url, "safe-copy");
const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Waits for `side` to copy, and says whether `target` then holds `original`. */
async function copiedIdentically(side: DemoSide, target: string, original: Buffer): Promise<boolean> {
  if (!(await side.finished())) return false;
  const copied = readFileSync(target);
  const identical = copied.equals(original);
  console.log(`${basename(target)}: ${copied.byteLength} bytes, sha256 ${sha256(copied)}: ${identical ? "identical" : "DIFFERENT"}`);
  return identical;
}

await runMain("demo", async () => {
  parseCommand({ name: "demo", summary: "Copy a file with copy (P4) and with safe-copy, then try to copy it onto itself.", options: {} });
  let dir = "";
  const removeDir = (): void => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  };
  const stopCleanup = onTerminationSignal(removeDir);
  try {
    dir = mkdtempSync(join(tmpdir(), "filecopy-demo-"));
    printHeading("filecopy: copy a file through two memory mappings (P4)");
    const source = join(dir, "source.bin");
    const original = randomBytes(3 * MiB + 5);
    writeFileSync(source, original);
    console.log(`source.bin: ${original.byteLength} random bytes, sha256 ${sha256(original)}`);
    let ok = await copiedIdentically(new DemoSide("copy", copy, [source, join(dir, "copy.bin")]), join(dir, "copy.bin"), original);

    printHeading("filecopy: the same copy with safe-copy, 1 MiB at a time, through a temporary file");
    const env = { ...process.env, FILECOPY_WINDOW_BYTES: String(MiB) };
    ok = (await copiedIdentically(new DemoSide("safe-copy", safeCopy, [source, join(dir, "safe-copy.bin")], { env }), join(dir, "safe-copy.bin"), original)) && ok;

    printHeading("filecopy: safe-copy refuses to copy a file onto itself");
    const refused = await new DemoSide("safe-copy", safeCopy, [source, source]).finished(1);
    const intact = readFileSync(source).equals(original);
    console.log(`${refused ? "refused with exit code 1" : "NOT refused"}; source.bin is ${intact ? "intact" : "DAMAGED"}`);
    return ok && refused && intact ? 0 : 1;
  } finally {
    stopCleanup();
    removeDir();
  }
});
