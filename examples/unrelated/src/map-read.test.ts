import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { ConnStat } from "@linux-ipc/programs";
import { mkfifo } from "@linux-ipc/core";
import { runProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";

const mapRead = compiledProgram(import.meta.url, "map-read");
const dir = useTempDir("unrelated-map-read-");

describe("map-read given something it cannot map", () => {
  it("exits 1 naming a missing file", async () => {
    const path = dir.file("missing");
    const result = await runProgram(mapRead, [path]);
    expect(result).toMatchObject({ code: 1, signal: null, stdout: "", stderr: `map-read: open '${path}': No such file or directory\n` });
  });

  it.each([0, 4, ConnStat.size - 1])("exits 1 naming a file of %i bytes, too small for the struct (no SIGBUS)", async (size) => {
    const path = dir.file("small");
    writeFileSync(path, Buffer.alloc(size, 1));
    const result = await runProgram(mapRead, [path, "--interval", "0"]);
    expect(result).toMatchObject({ code: 1, signal: null, stdout: "" });
    expect(result.stderr).toBe(`map-read: '${path}' is ${size} bytes, too small for a struct Conn_stat (68 bytes)\n`);
  });

  it("exits 1 for a directory, and for a FIFO without waiting for a writer", async () => {
    expect(await runProgram(mapRead, [dir.path])).toMatchObject({ code: 1, stderr: `map-read: '${dir.path}' is a directory, not a regular file\n` });
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o600);
    expect(await runProgram(mapRead, [fifo])).toMatchObject({ code: 1, stderr: `map-read: '${fifo}' is a FIFO, not a regular file\n` });
  });

  it("reads a file it may not write (opened O_RDONLY, mapped PROT_READ)", async () => {
    const path = dir.file("readonly");
    const bytes = Buffer.alloc(ConnStat.size);
    bytes.writeInt32LE(-5, 0);
    bytes.write("::1", 4);
    writeFileSync(path, bytes, { mode: 0o444 });
    const result = await runProgram(mapRead, [path, "--reads", "3", "--interval", "0"]);
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: "ip = ::1 ,count: -5\n".repeat(3) });
  });

  it("rejects --reads 0 and a missing FILE with usage and exit code 1; --help exits 0", async () => {
    const zero = await runProgram(mapRead, [dir.file("x"), "--reads", "0"]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/^map-read: --reads must be at least 1, not 0\n\nusage: map-read FILE \[--reads N\] \[--interval MS\]/);
    const bare = await runProgram(mapRead, []);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/^map-read: missing FILE\n/);
    const help = await runProgram(mapRead, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("(default: 10)");
  });
});
