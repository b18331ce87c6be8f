import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { mkfifo } from "@linux-ipc/core";
import { runProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";
import { MESSAGE_AREA_SIZE } from "./message-area.ts";

const reader = compiledProgram(import.meta.url, "reader");
const dir = useTempDir("unrelated-reader-");

describe("reader", () => {
  it("exits 1 naming a missing file", async () => {
    const path = dir.file("missing");
    const result = await runProgram(reader, [path]);
    expect(result).toMatchObject({ code: 1, signal: null, stdout: "" });
    expect(result.stderr).toBe(`reader: open '${path}': No such file or directory\n`);
  });

  it("exits 1 naming an empty file, which holds no message (the C dies of SIGBUS on it)", async () => {
    const path = dir.file("empty");
    writeFileSync(path, "");
    const result = await runProgram(reader, [path]);
    expect(result).toMatchObject({ code: 1, signal: null, stdout: "" });
    expect(result.stderr).toBe(`reader: '${path}' is empty: it holds no message\n`);
  });

  it("exits 1 for a directory, and for a FIFO without waiting for a writer", async () => {
    const directory = await runProgram(reader, [dir.path]);
    expect(directory).toMatchObject({ code: 1, stderr: `reader: '${dir.path}' is a directory, not a regular file\n` });
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o600);
    const result = await runProgram(reader, [fifo]);
    expect(result).toMatchObject({ code: 1, stderr: `reader: '${fifo}' is a FIFO, not a regular file\n` });
  });

  it.each([3, MESSAGE_AREA_SIZE - 1])("reads a file of %i bytes, smaller than the message area, to its end as the C does", async (size) => {
    const path = dir.file("small");
    writeFileSync(path, Buffer.alloc(size, 0x41));
    const result = await runProgram(reader, [path]);
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: `read from the mapping: ${"A".repeat(size)}\n` });
  });

  it("stops a short file's message at its NUL", async () => {
    const path = dir.file("short");
    writeFileSync(path, "hi\0rest");
    const result = await runProgram(reader, [path]);
    expect(result).toMatchObject({ code: 0, stdout: "read from the mapping: hi\n" });
  });

  it("reads a message area that holds no NUL up to its end", async () => {
    const path = dir.file("full");
    writeFileSync(path, Buffer.alloc(MESSAGE_AREA_SIZE + 10, 0x41));
    const result = await runProgram(reader, [path]);
    expect(result).toMatchObject({ code: 0, stdout: `read from the mapping: ${"A".repeat(MESSAGE_AREA_SIZE)}\n` });
  });

  it("prints the message's bytes as they are (a GBK message, as a C writer would leave it), line breaks escaped", async () => {
    const path = dir.file("gbk");
    const gbk = Buffer.from([0xce, 0xd2, 0xca, 0xc7, 0x0a, 0x41]);
    const area = Buffer.alloc(MESSAGE_AREA_SIZE);
    gbk.copy(area);
    writeFileSync(path, area);
    const result = await runProgram(reader, [path]);
    expect(result.code).toBe(0);
    const expected = Buffer.concat([Buffer.from("read from the mapping: "), Buffer.from([0xce, 0xd2, 0xca, 0xc7]), Buffer.from("\\nA\n")]);
    expect(result.stdoutBytes.equals(expected)).toBe(true);
  });

  it("prints usage on stderr with exit code 1 for a bad command line, and help with exit code 0", async () => {
    const extra = await runProgram(reader, ["a", "b"]);
    expect(extra.code).toBe(1);
    expect(extra.stderr).toMatch(/^reader: unexpected argument 'b'\n\nusage: reader FILE\n/);
    const unknown = await runProgram(reader, ["--bogus", "x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^reader: Unknown option '--bogus'/);
    const help = await runProgram(reader, ["-h"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: reader FILE\n/);
  });
});
