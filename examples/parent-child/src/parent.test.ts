import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { compiledC, cSkipReason, runCommand, runProgram, useTempDir, compiledProgram, plantForeignSymlink } from "@linux-ipc/testing/vitest";
import { close, ftruncate, memfd_create, MFD_CLOEXEC } from "@linux-ipc/core";
import { SharedPage } from "./shared-page.ts";

const parent = compiledProgram(import.meta.url, "parent");
const dir = useTempDir("parent-child-test-");

const refusal = (program: string, link: string): string =>
  `${program}: '${link}' is a symbolic link: not followed (whoever can write to its folder could point it at any file this user may write); give the file's own path\n`;

const FATHER = "我是你爹";

/** Splits the three lines a successful run prints into their parts, checking their shape. */
function parseRun(stdout: string): { parentPid: number; shared: string; childPid: number; read: string; reply: string } {
  const lines = stdout.split("\n");
  expect(lines).toHaveLength(4);
  expect(lines[3]).toBe("");
  const wrote = /^parent (\d+) wrote (\d+) bytes to (.+?): (.*)$/.exec(lines[0]!);
  const read = /^child (\d+) read: (.*)$/.exec(lines[1]!);
  const reply = /^parent (\d+) read the child's reply: (.*)$/.exec(lines[2]!);
  expect(wrote, lines[0]).not.toBeNull();
  expect(read, lines[1]).not.toBeNull();
  expect(reply, lines[2]).not.toBeNull();
  expect(reply![1]).toBe(wrote![1]);
  return { parentPid: Number(wrote![1]), shared: wrote![3]!, childPid: Number(read![1]), read: read![2]!, reply: reply![2]! };
}

describe("parent and child, two processes sharing one page", () => {
  it("the child, a separate process, reads the parent's message from a temporary file, which is removed after", async () => {
    const result = await runProgram(parent, [], { env: { ...process.env, TMPDIR: dir.path } });
    expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
    const run = parseRun(result.stdout);
    expect(run.childPid).not.toBe(run.parentPid);
    expect(run.read).toBe(`I am the parent, pid ${run.parentPid}`);
    expect(run.reply).toBe(`child ${run.childPid} (parent ${run.parentPid}) got ${run.read.length} bytes`);
    expect(run.shared.startsWith(dir.path)).toBe(true);
    expect(existsSync(run.shared)).toBe(false);
    expect(readdirSync(dir.path).filter((name) => name.startsWith("parent-child-"))).toEqual([]);
  });

  it("shares a memfd with --anonymous, and a UTF-8 message arrives byte for byte (12 bytes)", async () => {
    const result = await runProgram(parent, ["--anonymous", "--message", FATHER]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const run = parseRun(result.stdout);
    expect(result.stdout.split("\n")[0]).toBe(`parent ${run.parentPid} wrote 12 bytes to a memfd: ${FATHER}`);
    expect(run.read).toBe(FATHER);
    expect(run.reply).toBe(`child ${run.childPid} (parent ${run.parentPid}) got 12 bytes`);
  });

  it("the child refuses a memfd that is not sealed against shrinking (one truncated under its mapping would raise SIGBUS)", async () => {
    const fd = memfd_create("unsealed", MFD_CLOEXEC);
    try {
      ftruncate(fd, SharedPage.size);
      const result = await runProgram(compiledProgram(import.meta.url, "child"), [], { fds: [fd] });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^child: descriptor 3 is a memfd without F_SEAL_SHRINK\|F_SEAL_GROW .*SIGBUS\n$/);
    } finally {
      close(fd);
    }
  });

  it("with --file, leaves the message and the reply in the file, and never shrinks a larger file", async () => {
    const path = dir.file("page");
    const size = 3 * SharedPage.size;
    writeFileSync(path, Buffer.alloc(size, 0xaa));
    const result = await runProgram(parent, ["--file", path, "--message", FATHER]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const run = parseRun(result.stdout);
    expect(run.shared).toBe(path);
    const contents = readFileSync(path);
    expect(contents.byteLength).toBe(size);
    expect(contents.subarray(0, 13)).toEqual(Buffer.from(`${FATHER}\0`, "utf8"));
    const replyAt = SharedPage.offsets.reply;
    const reply = Buffer.from(`${run.reply}\0`, "utf8");
    expect(contents.subarray(replyAt, replyAt + reply.byteLength)).toEqual(reply);
    expect(contents.subarray(SharedPage.size).every((byte) => byte === 0xaa)).toBe(true);
  });

  it("creates a missing --file and grows it to the page", async () => {
    const path = dir.file("new-page");
    const result = await runProgram(parent, ["--file", path, "--message", "hello"]);
    expect(result.code).toBe(0);
    expect(parseRun(result.stdout).read).toBe("hello");
    expect(statSync(path).size).toBe(SharedPage.size);
  });

  it("prints line breaks in the message as \\n, on one line", async () => {
    const result = await runProgram(parent, ["--anonymous", "--message", "one\ntwo"]);
    expect(result.code).toBe(0);
    expect(parseRun(result.stdout).read).toBe("one\\ntwo");
  });

  it("fails with exit code 1 naming a --file it cannot use", async () => {
    const missing = dir.file("no/such/folder/page");
    expect(await runProgram(parent, ["--file", missing])).toMatchObject({
      code: 1,
      stdout: "",
      stderr: `parent: open '${missing}': No such file or directory\n`,
    });
    const folder = dir.file("folder");
    mkdirSync(folder);
    expect(await runProgram(parent, ["--file", folder])).toMatchObject({ code: 1, stderr: `parent: open '${folder}': Is a directory\n` });
  });

  it("refuses a message too long for the page before creating anything", async () => {
    const path = dir.file("page");
    const capacity = SharedPage.fields.message.char;
    const result = await runProgram(parent, ["--file", path, "--message", "x".repeat(capacity)]);
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toBe(`parent: the message is ${capacity} bytes; with its NUL it does not fit in the ${capacity} bytes the page has for it\n`);
    expect(existsSync(path)).toBe(false);
    expect((await runProgram(parent, ["--file", path, "--message", "x".repeat(capacity - 1)])).code).toBe(0);
  });

  it("rejects --file with --anonymous, and unknown options, with usage and exit code 1; --help exits 0", async () => {
    const both = await runProgram(parent, ["--file", dir.file("x"), "--anonymous"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/^parent: --file and --anonymous cannot be used together\n\nusage: parent \[--file PATH\] \[--anonymous\] \[--message TEXT\] \[--mode MODE\]\n/);
    expect(existsSync(dir.file("x"))).toBe(false);
    const unknown = await runProgram(parent, ["--fork"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^parent: Unknown option '--fork'/);
    const help = await runProgram(parent, ["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: parent \[--file PATH\] \[--anonymous\] \[--message TEXT\] \[--mode MODE\]\n/);
  });
});

describe("parent and a symbolic link at its file (planted by another user in a sticky folder such as /tmp)", () => {
  it("refuses the link instead of writing through it: the 8,893-byte file it points to is left as it was", async () => {
    const victim = dir.file("victim");
    writeFileSync(victim, Buffer.alloc(8893, "v"));
    const link = dir.file("link");
    plantForeignSymlink(victim, link);
    const result = await runProgram(parent, ["--file", dir.file("link")]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: refusal("parent", link) });
    expect(readFileSync(victim)).toEqual(Buffer.alloc(8893, "v"));
  });

  it("refuses a dangling link instead of creating a file where it points", async () => {
    const target = dir.file("target");
    const link = dir.file("link");
    plantForeignSymlink(target, link);
    const result = await runProgram(parent, ["--file", dir.file("link")]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: refusal("parent", link) });
    expect(existsSync(target)).toBe(false);
  });

  it("creates a new file with --mode (less the umask), the C's 0666 by default, and leaves an existing file's mode alone", async () => {
    const fresh = dir.file("fresh");
    expect((await runProgram(parent, ["--file", dir.file("fresh"), "--mode", "0600"])).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600 & ~process.umask());
    expect((await runProgram(parent, ["--file", dir.file("fresh"), "--mode", "0666"])).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600 & ~process.umask());
    const plain = dir.file("plain");
    expect((await runProgram(parent, ["--file", dir.file("plain")])).code).toBe(0);
    expect(statSync(plain).mode & 0o777).toBe(0o666 & ~process.umask());
    const bad = await runProgram(parent, ["--file", dir.file("plain"), "--mode", "rw-------"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--mode must be octal permission bits such as 0600, not 'rw-------'");
  });
});

describe.skipIf(cSkipReason() !== null)("parent against the tutorial's C program, c/parent-child.c (P1)", () => {
  it("both leave the message and its NUL at the start of the shared file; the C child may print it, or nothing if it ran first", async () => {
    const cFile = dir.file("c-page");
    // The C maps 4000 bytes of the file whatever its size: it needs a file that holds them.
    writeFileSync(cFile, Buffer.alloc(4096));
    const c = await runCommand(compiledC(import.meta.url, "parent-child"), [cFile, FATHER]);
    expect(c).toMatchObject({ code: 0, stderr: "" });
    expect(c.stdout).toMatch(new RegExp(`^从映射区读到的数据: (${FATHER})?\\n$`));
    const ours = dir.file("ts-page");
    expect((await runProgram(parent, ["--file", ours, "--message", FATHER])).code).toBe(0);
    const expected = Buffer.from(`${FATHER}\0`);
    expect(readFileSync(cFile).subarray(0, expected.byteLength)).toEqual(expected);
    expect(readFileSync(ours).subarray(0, expected.byteLength)).toEqual(expected);
  });
});
