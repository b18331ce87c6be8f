import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { runProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";

const demo = compiledProgram(import.meta.url, "demo");
const dir = useTempDir("filecopy-demo-test-");

describe("demo", () => {
  it("copies a file with copy and with safe-copy in several windows, shows the self-copy refusal, and removes its files", async () => {
    const result = await runProgram(demo, [], { env: { ...process.env, TMPDIR: dir.path } });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("=== filecopy: copy a file through two memory mappings (P4) ===");
    const [, sourceHash] = /^source\.bin: 3145733 random bytes, sha256 ([0-9a-f]{64})$/.exec(lines[1]!) ?? [];
    expect(sourceHash).toBeDefined();
    expect(lines.slice(2)).toEqual([
      `copy.bin: 3145733 bytes, sha256 ${sourceHash}: identical`,
      "=== filecopy: the same copy with safe-copy, 1 MiB at a time, through a temporary file ===",
      `safe-copy.bin: 3145733 bytes, sha256 ${sourceHash}: identical`,
      "=== filecopy: safe-copy refuses to copy a file onto itself ===",
      "refused with exit code 1; source.bin is intact",
    ]);
    expect(result.stderr).toMatch(/^\[safe-copy\] safe-copy: '.+\/source\.bin' and '.+\/source\.bin' are the same file: refusing to copy a file onto itself\n$/);
    // tsx keeps its cache there too (tsx-<uid>): only the demo's own folder must be gone.
    expect(readdirSync(dir.path).filter((name) => name.startsWith("filecopy-demo-"))).toEqual([]);
  });
});
