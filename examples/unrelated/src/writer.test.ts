import { describe, expect, it } from "vitest";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { compiledC, cSkipReason, runCommand, runProgram, useTempDir, compiledProgram, plantForeignSymlink } from "@linux-ipc/testing/vitest";
import { MESSAGE_AREA_SIZE } from "./message-area.ts";

const writer = compiledProgram(import.meta.url, "writer");
const reader = compiledProgram(import.meta.url, "reader");
const dir = useTempDir("unrelated-writer-");

const refusal = (program: string, link: string): string =>
  `${program}: '${link}' is a symbolic link: not followed (whoever can write to its folder could point it at any file this user may write); give the file's own path\n`;

const FATHER = "我是你爹";
const FATHER_BYTES = Buffer.from(FATHER, "utf8");
/** What the C reader prints before the message ("data read from the mapping: "). */
const C_PREFIX = "从映射区读到的数据: ";

describe("writer then reader, two separate processes", () => {
  it("round-trips a UTF-8 message byte for byte (12 bytes and a NUL at the start of the file)", async () => {
    const path = dir.file("shared");
    expect(FATHER_BYTES.byteLength).toBe(12);
    const written = await runProgram(writer, [path, "--message", FATHER]);
    expect(written.stderr).toBe("");
    expect(written.stdout).toMatch(new RegExp(`^writer \\d+ wrote 12 bytes and a NUL to ${path}\\n$`));
    expect(written.code).toBe(0);

    const contents = readFileSync(path);
    expect(contents.byteLength).toBe(MESSAGE_AREA_SIZE);
    expect(contents.subarray(0, 13)).toEqual(Buffer.concat([FATHER_BYTES, Buffer.from([0])]));

    const read = await runProgram(reader, [path]);
    expect(read).toMatchObject({ code: 0, signal: null, stderr: "", stdout: `read from the mapping: ${FATHER}\n` });
  });

  it("writes its pid in the default message and prints only up to the NUL over an older, longer message", async () => {
    const path = dir.file("shared");
    await runProgram(writer, [path, "--message", "a much longer message written first"]);
    const written = await runProgram(writer, [path]);
    const pid = /^writer (\d+) wrote/.exec(written.stdout)?.[1];
    expect(pid).toBeDefined();
    const read = await runProgram(reader, [path]);
    expect(read.stdout).toBe(`read from the mapping: I am the writer, pid ${pid}\n`);
  });

  it("grows a smaller file to the message area and never shrinks a larger one", async () => {
    const small = dir.file("small");
    writeFileSync(small, "old");
    const large = dir.file("large");
    writeFileSync(large, Buffer.alloc(3 * MESSAGE_AREA_SIZE, 0x55));
    expect((await runProgram(writer, [small, "--message", "hi"])).code).toBe(0);
    expect((await runProgram(writer, [large, "--message", "hi"])).code).toBe(0);
    expect(statSync(small).size).toBe(MESSAGE_AREA_SIZE);
    const contents = readFileSync(large);
    expect(contents.byteLength).toBe(3 * MESSAGE_AREA_SIZE);
    expect(contents.subarray(0, 3)).toEqual(Buffer.from("hi\0"));
    expect(contents.subarray(3).every((byte) => byte === 0x55)).toBe(true);
  });

  it("keeps a message with line breaks on one line when reading it", async () => {
    const path = dir.file("shared");
    await runProgram(writer, [path, "--message", "first\nsecond\r\n"]);
    expect((await runProgram(reader, [path])).stdout).toBe("read from the mapping: first\\nsecond\\r\\n\n");
  });

  it("refuses a message that does not fit with its NUL, before creating the file", async () => {
    const path = dir.file("never");
    const fits = "x".repeat(MESSAGE_AREA_SIZE - 1);
    const result = await runProgram(writer, [path, "--message", `${fits}x`]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toBe(`writer: the message is ${MESSAGE_AREA_SIZE} bytes; with its NUL it does not fit in the ${MESSAGE_AREA_SIZE}-byte message area\n`);
    expect(existsSync(path)).toBe(false);
    expect((await runProgram(writer, [path, "--message", fits])).code).toBe(0);
    expect((await runProgram(reader, [path])).stdout).toBe(`read from the mapping: ${fits}\n`);
  });

  it("fails with exit code 1 and a message naming the path for a directory or a missing folder", async () => {
    const inDirectory = await runProgram(writer, [dir.path]);
    expect(inDirectory).toMatchObject({ code: 1, stdout: "" });
    expect(inDirectory.stderr).toBe(`writer: open '${dir.path}': Is a directory\n`);
    const missing = dir.file("no/such/folder");
    const result = await runProgram(writer, [missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`writer: open '${missing}': No such file or directory\n`);
  });

  it("prints usage on stderr with exit code 1 without FILE, and help with exit code 0", async () => {
    const bare = await runProgram(writer, []);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/^writer: missing FILE\n\nusage: writer FILE \[--message TEXT\]/);
    const help = await runProgram(writer, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: writer FILE \[--message TEXT\]/);
  });
});

describe.skipIf(cSkipReason() !== null)("byte compatibility with the tutorial's C programs, c/writer.c (P2) and c/reader.c (P3)", () => {
  it("the C reader prints exactly the bytes the TypeScript writer wrote", async () => {
    const path = dir.file("shared");
    await runProgram(writer, [path, "--message", FATHER]);
    const result = await runCommand(compiledC(import.meta.url, "reader"), [path]);
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: `${C_PREFIX}${FATHER}\n` });
  });

  it("the TypeScript reader prints exactly what the C writer wrote", async () => {
    const path = dir.file("shared");
    // The C writer never grows its file: it needs one of the 4000 bytes it maps (an empty one kills it with SIGBUS).
    writeFileSync(path, Buffer.alloc(MESSAGE_AREA_SIZE));
    const written = await runCommand(compiledC(import.meta.url, "writer"), [path, FATHER]);
    expect(written).toMatchObject({ code: 0, stderr: "", stdout: "" });
    expect(readFileSync(path).subarray(0, 13)).toEqual(Buffer.concat([FATHER_BYTES, Buffer.from([0])]));
    const read = await runProgram(reader, [path]);
    expect(read).toMatchObject({ code: 0, stderr: "", stdout: `read from the mapping: ${FATHER}\n` });
  });

  it("the C reader, like the TypeScript one, reads a file shorter than its 4000 bytes to its end", async () => {
    const path = dir.file("short");
    writeFileSync(path, "short\0");
    expect(await runCommand(compiledC(import.meta.url, "reader"), [path])).toMatchObject({ code: 0, stdout: `${C_PREFIX}short\n` });
    expect(await runProgram(reader, [path])).toMatchObject({ code: 0, stdout: "read from the mapping: short\n" });
  });
});

describe("writer and a symbolic link at its file (planted by another user in a sticky folder such as /tmp)", () => {
  it("refuses the link instead of writing through it: the 8,893-byte file it points to is left as it was", async () => {
    const victim = dir.file("victim");
    writeFileSync(victim, Buffer.alloc(8893, "v"));
    const link = dir.file("link");
    plantForeignSymlink(victim, link);
    const result = await runProgram(writer, [dir.file("link")]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: refusal("writer", link) });
    expect(readFileSync(victim)).toEqual(Buffer.alloc(8893, "v"));
  });

  it("refuses a dangling link instead of creating a file where it points", async () => {
    const target = dir.file("target");
    const link = dir.file("link");
    plantForeignSymlink(target, link);
    const result = await runProgram(writer, [dir.file("link")]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: refusal("writer", link) });
    expect(existsSync(target)).toBe(false);
  });

  it("creates a new file with --mode (less the umask), the C's 0666 by default, and leaves an existing file's mode alone", async () => {
    const fresh = dir.file("fresh");
    expect((await runProgram(writer, [dir.file("fresh"), "--mode", "0600"])).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600 & ~process.umask());
    expect((await runProgram(writer, [dir.file("fresh"), "--mode", "0666"])).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600 & ~process.umask());
    const plain = dir.file("plain");
    expect((await runProgram(writer, [dir.file("plain")])).code).toBe(0);
    expect(statSync(plain).mode & 0o777).toBe(0o666 & ~process.umask());
    const bad = await runProgram(writer, [dir.file("plain"), "--mode", "rw-------"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--mode must be octal permission bits such as 0600, not 'rw-------'");
  });
});
