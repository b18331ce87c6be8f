import { afterAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { ConnStat } from "@linux-ipc/programs";
import { compileC, cSkipReason, removeCompiled, runCommand, runProgram, startProgram, useTempDir, compiledProgram, plantForeignSymlink } from "@linux-ipc/testing/vitest";

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

const CONN_STAT_C = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
struct Conn_stat { int count; char ip[64]; };
`;

const CONN_WRITER_C = `${CONN_STAT_C}
int main(int argc, char **argv) {
  struct Conn_stat stat = { atoi(argv[2]), "" };
  strncpy(stat.ip, argv[3], sizeof stat.ip - 1);
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 2; }
  if (ftruncate(fd, sizeof(struct Conn_stat)) < 0) { perror("ftruncate"); return 2; }
  struct Conn_stat *p = mmap(NULL, sizeof(struct Conn_stat), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 3; }
  close(fd);
  memcpy(p, &stat, sizeof(struct Conn_stat));
  munmap(p, sizeof(struct Conn_stat));
  return 0;
}
`;

const CONN_READER_C = `${CONN_STAT_C}
int main(int argc, char **argv) {
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) { perror("open"); return 2; }
  struct stat st;
  fstat(fd, &st);
  struct Conn_stat *p = mmap(NULL, sizeof(struct Conn_stat), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 3; }
  close(fd);
  size_t used = strnlen(p->ip, sizeof p->ip), zeros = 0;
  for (size_t i = used; i < sizeof p->ip; i++) zeros += p->ip[i] == 0;
  printf("file %lld bytes, sizeof %zu\\n", (long long)st.st_size, sizeof(struct Conn_stat));
  printf("ip = %s ,count: %d\\n", p->ip, p->count);
  printf("ip[] after the string: %zu of %zu bytes zero\\n", zeros, sizeof p->ip - used);
  munmap(p, sizeof(struct Conn_stat));
  return 0;
}
`;

describe.skipIf(cSkipReason() !== null)("byte compatibility with C programs using struct Conn_stat", () => {
  afterAll(() => removeCompiled());

  it("a C reader reads the struct the TypeScript map-write wrote", async () => {
    const cReader = compileC("conn_reader", CONN_READER_C);
    const path = dir.file("conn_stat");
    await runProgram(mapWrite, [path, "--max", "7", "--interval", "0"]);
    const result = await runCommand(cReader, [path]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toBe("file 68 bytes, sizeof 68\nip = 127.0.0.1 ,count: 7\nip[] after the string: 55 of 55 bytes zero\n");
  });

  it("the TypeScript map-read reads the struct a C writer wrote", async () => {
    const cWriter = compileC("conn_writer", CONN_WRITER_C);
    const path = dir.file("conn_stat");
    expect(await runCommand(cWriter, [path, "123456789", "10.200.30.254"])).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(path)).toEqual(connStatBytes(123456789, "10.200.30.254"));
    const result = await runProgram(mapRead, [path, "--reads", "1"]);
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: "ip = 10.200.30.254 ,count: 123456789\n" });
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
