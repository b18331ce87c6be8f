import { describe, expect, it } from "vitest";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { PAGE_SIZE } from "@linux-ipc/core";
import { compiledC, cSkipReason, runCommand, runProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";

const copy = compiledProgram(import.meta.url, "copy");
const dir = useTempDir("filecopy-copy-");

describe("copy (P4)", () => {
  it.each([1, PAGE_SIZE - 1, PAGE_SIZE, 3 * PAGE_SIZE + 123])("copies %i bytes exactly and prints nothing", async (size) => {
    const data = randomBytes(size);
    writeFileSync(dir.file("src"), data);
    expect(await runProgram(copy, [dir.file("src"), dir.file("dst")])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(dir.file("dst")).equals(data)).toBe(true);
  });

  it("sets a larger existing DST to SRC's size, as the C's ftruncate does, and copies a 0-byte SRC to a 0-byte DST", async () => {
    writeFileSync(dir.file("src"), "short");
    writeFileSync(dir.file("dst"), Buffer.alloc(3 * PAGE_SIZE, "x"));
    expect((await runProgram(copy, [dir.file("src"), dir.file("dst")])).code).toBe(0);
    expect(readFileSync(dir.file("dst"), "utf8")).toBe("short");
    writeFileSync(dir.file("empty"), "");
    expect(await runProgram(copy, [dir.file("empty"), dir.file("dst")])).toMatchObject({ code: 0, stderr: "" });
    expect(statSync(dir.file("dst")).size).toBe(0);
  });

  it("fails with one line and exit code 1: a missing SRC, a folder, a missing DST folder; and usage errors", async () => {
    const missing = dir.file("missing");
    expect(await runProgram(copy, [missing, dir.file("dst")])).toMatchObject({ code: 1, stdout: "", stderr: `copy: open '${missing}': No such file or directory\n` });
    const folder = await runProgram(copy, [dir.path, dir.file("dst")]);
    expect(folder).toMatchObject({ code: 1, stdout: "" });
    expect(folder.stderr).toMatch(/^copy: .*directory.*\n$/);
    writeFileSync(dir.file("src"), "data");
    const nowhere = dir.file("no/such/dst");
    expect(await runProgram(copy, [dir.file("src"), nowhere])).toMatchObject({ code: 1, stderr: `copy: open '${nowhere}': No such file or directory\n` });
    const usage = await runProgram(copy, [dir.file("src")]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/^copy: missing DST\n\nusage: copy SRC DST\n/);
    expect((await runProgram(copy, ["--help"])).stdout).toContain("docs/tutorials.md");
  });
});

describe.skipIf(cSkipReason() !== null)("copy against the tutorial's C program, c/copy.c", () => {
  it("makes the same copy, byte for byte, over the same larger DST", async () => {
    const data = randomBytes(5 * PAGE_SIZE + 7);
    writeFileSync(dir.file("src"), data);
    for (const dst of ["c-dst", "ts-dst"]) writeFileSync(dir.file(dst), Buffer.alloc(9 * PAGE_SIZE, "x"));
    expect(await runCommand(compiledC(import.meta.url, "copy"), [dir.file("src"), dir.file("c-dst")])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(await runProgram(copy, [dir.file("src"), dir.file("ts-dst")])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(dir.file("c-dst")).equals(data)).toBe(true);
    expect(readFileSync(dir.file("ts-dst")).equals(data)).toBe(true);
  });

  it("where the C fails with exit code 0 (a 0-byte or a missing SRC), copy copies or fails with exit code 1", async () => {
    const c = compiledC(import.meta.url, "copy");
    writeFileSync(dir.file("empty"), "");
    expect(await runCommand(c, [dir.file("empty"), dir.file("c-dst")])).toMatchObject({ code: 0, stderr: "mmap source: Invalid argument\n" });
    expect(await runProgram(copy, [dir.file("empty"), dir.file("ts-dst")])).toMatchObject({ code: 0, stderr: "" });
    expect(await runCommand(c, [dir.file("missing"), dir.file("c-dst")])).toMatchObject({ code: 0, stderr: "open source: No such file or directory\n" });
    expect((await runProgram(copy, [dir.file("missing"), dir.file("ts-dst")])).code).toBe(1);
  });
});
