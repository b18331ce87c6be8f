import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { ConnStat } from "@linux-ipc/programs";
import { compiledC, cSkipReason, runCommand, runProgram, startCommand, startProgram, useTempDir, compiledProgram, plantForeignSymlink } from "@linux-ipc/testing/vitest";

const mapWrite = compiledProgram(import.meta.url, "map-write");
const mapRead = compiledProgram(import.meta.url, "map-read");
const dir = useTempDir("unrelated-map-");

const refusal = (program: string, link: string): string =>
  `${program}: '${link}' is a symbolic link: not followed (whoever can write to its folder could point it at any file this user may write); give the file's own path\n`;

/** The 68 bytes C's `struct Conn_stat s = {count, "127.0.0.1"}` holds: little-endian int, then ip[64] zero-padded. */
function connStatBytes(count: number, ip: string): Buffer {
  const bytes = Buffer.alloc(ConnStat.size);
  bytes.writeInt32LE(count, 0);
  bytes.write(ip, 4, "utf8");
  return bytes;
}

describe("map-write and map-read, two separate processes", () => {
  it("map-read prints the struct map-write left in the file", async () => {
    const path = dir.file("conn_stat");
    const written = await runProgram(mapWrite, [path, "--max", "3", "--interval", "0"]);
    expect(written).toMatchObject({ code: 0, stderr: "" });
    expect(written.stdout).toBe(`mapped struct Conn_stat (68 bytes) from ${path}: ip = 127.0.0.1, count: 0\ncount: 1\ncount: 2\ncount: 3\n`);
    expect(readFileSync(path)).toEqual(connStatBytes(3, "127.0.0.1"));

    const read = await runProgram(mapRead, [path, "--reads", "2", "--interval", "0"]);
    expect(read).toMatchObject({ code: 0, signal: null, stderr: "", stdout: "ip = 127.0.0.1 ,count: 3\nip = 127.0.0.1 ,count: 3\n" });
  });

  it("map-read sees the count climb while map-write runs", async () => {
    const path = dir.file("conn_stat");
    const writer = startProgram(mapWrite, [path, "--max", "1000000", "--interval", "5"]);
    const reads = 4000;
    let reader: ReturnType<typeof startProgram> | undefined;
    try {
      await writer.waitForLine("count: 2");
      reader = startProgram(mapRead, [path, "--reads", String(reads), "--interval", "5"]);
      const counts: number[] = [];
      // Each line is awaited as it comes: the reader keeps printing until it has seen a larger count.
      for (let index = 0; index < reads && !(counts.length > 1 && counts.at(-1)! > counts[0]!); index++) {
        const line = await reader.waitForLine(/^ip = /, { after: index });
        const match = /^ip = 127\.0\.0\.1 ,count: (\d+)$/.exec(line);
        expect(match, line).not.toBeNull();
        counts.push(Number(match![1]));
      }
      expect(counts[0]).toBeGreaterThanOrEqual(2);
      expect(counts.at(-1)).toBeGreaterThan(counts[0]!);
      expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    } finally {
      reader?.kill();
      writer.kill();
      await reader?.exited;
      await writer.exited;
    }
  });

  it("sets an existing larger file to exactly the struct's size and rewrites it whole", async () => {
    const path = dir.file("conn_stat");
    writeFileSync(path, Buffer.alloc(4096, 0xff));
    expect((await runProgram(mapWrite, [path, "--max", "0"])).code).toBe(0);
    expect(statSync(path).size).toBe(ConnStat.size);
    expect(readFileSync(path)).toEqual(connStatBytes(0, "127.0.0.1"));
  });

  it("fails with exit code 1 naming the path it cannot open", async () => {
    const missing = dir.file("no/folder");
    const result = await runProgram(mapWrite, [missing, "--max", "1"]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: `map-write: open '${missing}': No such file or directory\n` });
    const directory = await runProgram(mapWrite, [dir.path]);
    expect(directory).toMatchObject({ code: 1, stderr: `map-write: open '${dir.path}': Is a directory\n` });
  });

  it("rejects bad numbers with usage on stderr and exit code 1; --help exits 0", async () => {
    const path = dir.file("conn_stat");
    const negative = await runProgram(mapWrite, [path, "--max=-1"]);
    expect(negative.code).toBe(1);
    expect(negative.stderr).toMatch(/^map-write: --max must be between 0 and 2147483647, not -1\n\nusage: map-write FILE \[--max N\] \[--interval MS\]/);
    const word = await runProgram(mapWrite, [path, "--interval", "soon"]);
    expect(word.code).toBe(1);
    expect(word.stderr).toMatch(/^map-write: --interval must be an integer in decimal or 0x hex, not 'soon'\n/);
    const help = await runProgram(mapWrite, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--max N");
    expect(help.stdout).toContain("(default: 30)");
    expect(help.stdout).toContain("(default: 1000)");
  });
});

describe.skipIf(cSkipReason() !== null)("byte compatibility with the tutorial's C programs, c/map-write.c (P7) and c/map-read.c (P8)", () => {
  it("the C map-read reads the struct the TypeScript map-write wrote", async () => {
    const path = dir.file("conn_stat");
    await runProgram(mapWrite, [path, "--max", "7", "--interval", "0"]);
    const result = await runCommand(compiledC(import.meta.url, "map-read"), [path, "1", "0"]);
    // The C's line ends with two tabs, which map-read leaves out.
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: "ip = 127.0.0.1 ,count: 7\t\t\n" });
  });

  it("the TypeScript map-read reads the struct the C map-write wrote, byte for byte the same file as map-write leaves", async () => {
    const path = dir.file("conn_stat");
    expect(await runCommand(compiledC(import.meta.url, "map-write"), [path, "5", "0"])).toMatchObject({ code: 0, stderr: "", stdout: "" });
    expect(readFileSync(path)).toEqual(connStatBytes(5, "127.0.0.1"));
    const result = await runProgram(mapRead, [path, "--reads", "1"]);
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: "ip = 127.0.0.1 ,count: 5\n" });
    const ours = dir.file("ours");
    await runProgram(mapWrite, [ours, "--max", "5", "--interval", "0"]);
    expect(readFileSync(ours)).toEqual(readFileSync(path));
  });

  it("the C map-read follows the count while the TypeScript map-write runs", async () => {
    const path = dir.file("conn_stat");
    const writer = startProgram(mapWrite, [path, "--max", "1000000", "--interval", "5"]);
    try {
      await writer.waitForLine("count: 2");
      const reader = startCommand(compiledC(import.meta.url, "map-read"), [path, "1000000", "5"]);
      const counts: number[] = [];
      // Each line is awaited as it comes, until the reader has seen the count climb.
      for (let index = 0; counts.length < 2 || counts.at(-1)! <= counts[0]!; index++) {
        const line = await reader.waitForLine(/^ip = /, { after: index });
        expect(line).toMatch(/^ip = 127\.0\.0\.1 ,count: \d+\t\t$/);
        counts.push(Number(/count: (\d+)/.exec(line)![1]));
      }
      expect(counts[0]).toBeGreaterThanOrEqual(2);
      reader.kill();
      await reader.exited;
    } finally {
      writer.kill();
      await writer.exited;
    }
  });
});

describe("map-write and a symbolic link at its file (planted by another user in a sticky folder such as /tmp)", () => {
  it("refuses the link instead of writing through it: the 8,893-byte file it points to is left as it was", async () => {
    const victim = dir.file("victim");
    writeFileSync(victim, Buffer.alloc(8893, "v"));
    const link = dir.file("link");
    plantForeignSymlink(victim, link);
    const result = await runProgram(mapWrite, [dir.file("link"), "--max", "1", "--interval", "0"]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: refusal("map-write", link) });
    expect(readFileSync(victim)).toEqual(Buffer.alloc(8893, "v"));
  });

  it("refuses a dangling link instead of creating a file where it points", async () => {
    const target = dir.file("target");
    const link = dir.file("link");
    plantForeignSymlink(target, link);
    const result = await runProgram(mapWrite, [dir.file("link"), "--max", "1", "--interval", "0"]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: refusal("map-write", link) });
    expect(existsSync(target)).toBe(false);
  });

  it("creates a new file with --mode (less the umask), the C's 0644 by default, and leaves an existing file's mode alone", async () => {
    const fresh = dir.file("fresh");
    expect((await runProgram(mapWrite, [dir.file("fresh"), "--max", "1", "--interval", "0", "--mode", "0600"])).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600 & ~process.umask());
    expect((await runProgram(mapWrite, [dir.file("fresh"), "--max", "1", "--interval", "0", "--mode", "0666"])).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600 & ~process.umask());
    const plain = dir.file("plain");
    expect((await runProgram(mapWrite, [dir.file("plain"), "--max", "1", "--interval", "0"])).code).toBe(0);
    expect(statSync(plain).mode & 0o777).toBe(0o644 & ~process.umask());
    const bad = await runProgram(mapWrite, [dir.file("plain"), "--max", "1", "--interval", "0", "--mode", "rw-------"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--mode must be octal permission bits such as 0600, not 'rw-------'");
  });
});
