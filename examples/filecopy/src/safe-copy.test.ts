import { describe, expect, it } from "vitest";
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { PAGE_SIZE, mkfifo } from "@linux-ipc/core";
import { compiledC, runCommand, runProgram, useTempDir, type ProgramResult, compiledProgram } from "@linux-ipc/testing/vitest";

const copy = compiledProgram(import.meta.url, "safe-copy");
const dir = useTempDir("filecopy-test-");

/** Small windows make every size below cross several of them. */
const WINDOW = 2 * PAGE_SIZE;

function runCopy(args: string[], window: number | null = WINDOW): Promise<ProgramResult> {
  const env = { ...process.env };
  delete env.FILECOPY_WINDOW_BYTES;
  if (window !== null) env.FILECOPY_WINDOW_BYTES = String(window);
  return runProgram(copy, args, { env });
}

function currentUmask(): number {
  const mask = process.umask(0);
  process.umask(mask);
  return mask;
}

const entries = (): string[] => readdirSync(dir.path).sort();

describe("safe-copy makes a byte-exact copy", () => {
  const sizes = [0, 1, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, WINDOW, 3 * WINDOW + 123, 5 * WINDOW];
  it.each(sizes)("of a random file of %i bytes, with the source's permission bits", async (size) => {
    const source = dir.file("source");
    const target = dir.file("target");
    const original = randomBytes(size);
    writeFileSync(source, original);
    chmodSync(source, 0o640);
    const result = await runCopy([source, target]);
    expect(result).toMatchObject({ code: 0, signal: null, stdout: "", stderr: "" });
    expect(readFileSync(target).equals(original)).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o640 & ~currentUmask());
    expect(entries()).toEqual(["source", "target"]);
  });

  it("with the default window size (FILECOPY_WINDOW_BYTES unset)", async () => {
    const source = dir.file("source");
    const original = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(source, original);
    expect(await runCopy([source, dir.file("target")], null)).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(dir.file("target")).equals(original)).toBe(true);
  });

  it("on a file system without fallocate (errno 95, which a seccomp filter gives here): the copy goes on, byte-exact", async () => {
    const source = dir.file("source");
    const original = randomBytes(5 * WINDOW + 7);
    writeFileSync(source, original);
    // no-fallocate runs node with fallocate(2) answering EOPNOTSUPP; the copy must still be made.
    const env = { ...process.env, FILECOPY_WINDOW_BYTES: String(WINDOW) };
    const result = await runCommand(compiledC(import.meta.url, "test/no-fallocate"), [process.execPath, copy, source, dir.file("target")], { env });
    expect(result).toMatchObject({ code: 0, signal: null, stdout: "", stderr: "" });
    expect(readFileSync(dir.file("target")).equals(original)).toBe(true);
    // And the filter does what it says: fallocate through core fails with errno 95 under it.
    const probe = `import("@linux-ipc/core").then(({ fallocate, open, close, O_RDWR }) => { const fd = open(process.argv[1], O_RDWR); try { fallocate(fd, 0, 0, 4096); } catch (e) { console.log(e.errno); } close(fd); })`;
    const probed = await runCommand(compiledC(import.meta.url, "test/no-fallocate"), [process.execPath, "-e", probe, source], { cwd: new URL("..", import.meta.url).pathname, env });
    expect(probed).toMatchObject({ code: 0, stdout: "95\n" });
  });

  it("replacing a larger destination, which ends exactly the source's size", async () => {
    const source = dir.file("source");
    const target = dir.file("target");
    const original = randomBytes(5000);
    writeFileSync(source, original);
    writeFileSync(target, Buffer.alloc(100_000, 0xff));
    expect((await runCopy([source, target])).code).toBe(0);
    expect(statSync(target).size).toBe(5000);
    expect(readFileSync(target).equals(original)).toBe(true);
  });

  it("of an empty source over a non-empty destination: a 0-byte file", async () => {
    const source = dir.file("empty");
    const target = dir.file("target");
    writeFileSync(source, "");
    writeFileSync(target, "old contents");
    expect(await runCopy([source, target])).toMatchObject({ code: 0, stderr: "" });
    expect(statSync(target).size).toBe(0);
  });

  it("removing the temporary files of earlier copies to the same destination that were killed, and only those", async () => {
    const source = dir.file("source");
    writeFileSync(source, randomBytes(3 * WINDOW));
    const finished = spawnSync("true");
    const dead = finished.pid!; // a pid whose process has ended (reused pids are kept: they look alive)
    const leftover = dir.file(`.target.copy-${dead}-0badf00d`);
    const alive = dir.file(`.target.copy-${process.pid}-00c0ffee`);
    const other = dir.file(`.other.copy-${dead}-0badf00d`);
    for (const path of [leftover, alive, other]) writeFileSync(path, "partial");
    const result = await runCopy([source, dir.file("target")]);
    expect(result).toMatchObject({ code: 0, stdout: "" });
    expect(result.stderr).toBe(`safe-copy: removed '${leftover}', left by a copy (pid ${dead}) that was killed\n`);
    expect(entries()).toEqual([`.other.copy-${dead}-0badf00d`, `.target.copy-${process.pid}-00c0ffee`, "source", "target"].sort());
    expect(readFileSync(dir.file("target"))).toEqual(readFileSync(source));
  });

  it("of a /proc file, whose size reads 0 though it has content: the whole content", async () => {
    const target = dir.file("version");
    expect(statSync("/proc/version").size).toBe(0);
    expect(await runCopy(["/proc/version", target])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const copied = readFileSync(target, "utf8");
    expect(copied).toBe(readFileSync("/proc/version", "utf8"));
    expect(copied).toMatch(/^Linux version /);
    expect(readdirSync(dir.path)).toEqual(["version"]);
  });

  it("into the file a destination symbolic link points to, keeping the link", async () => {
    const source = dir.file("source");
    const other = dir.file("other");
    const link = dir.file("link");
    const original = randomBytes(3 * WINDOW);
    writeFileSync(source, original);
    writeFileSync(other, "old");
    symlinkSync(other, link);
    expect((await runCopy([source, link])).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(other).equals(original)).toBe(true);
    expect(entries()).toEqual(["link", "other", "source"]);
  });
});

describe("safe-copy refuses to copy a file onto itself, and leaves it intact", () => {
  const cases: [string, (file: string) => [string, string]][] = [
    ["the same path", (file) => [file, file]],
    ["the same path spelled differently", (file) => [file, `${dir.path}/./${file.slice(dir.path.length + 1)}`]],
    [
      "a hard link",
      (file) => {
        linkSync(file, dir.file("hard"));
        return [file, dir.file("hard")];
      },
    ],
    [
      "a symbolic link as the destination",
      (file) => {
        symlinkSync(file, dir.file("soft"));
        return [file, dir.file("soft")];
      },
    ],
    [
      "a symbolic link as the source",
      (file) => {
        symlinkSync(file, dir.file("soft"));
        return [dir.file("soft"), file];
      },
    ],
  ];
  it.each(cases)("given %s", async (_, paths) => {
    const file = dir.file("file");
    const original = randomBytes(3 * WINDOW + 1);
    writeFileSync(file, original);
    const [source, destination] = paths(file);
    const before = entries();
    const result = await runCopy([source, destination]);
    expect(result).toMatchObject({ code: 1, signal: null, stdout: "" });
    expect(result.stderr).toBe(`safe-copy: '${source}' and '${destination}' are the same file: refusing to copy a file onto itself\n`);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(entries()).toEqual(before);
  });
});

describe("safe-copy fails with exit code 1, a message naming the path, and nothing left behind", () => {
  /** Runs copy expecting failure; the destination, if it existed, must be untouched. */
  async function expectFailure(source: string, destination: string, message: string): Promise<void> {
    const before = entries();
    const result = await runCopy([source, destination]);
    expect(result).toMatchObject({ code: 1, signal: null, stdout: "", stderr: `safe-copy: ${message}\n` });
    expect(entries()).toEqual(before);
  }

  it("when the source is missing, keeping an existing destination", async () => {
    const target = dir.file("target");
    writeFileSync(target, "precious");
    await expectFailure(dir.file("missing"), target, `open '${dir.file("missing")}': No such file or directory`);
    expect(readFileSync(target, "utf8")).toBe("precious");
  });

  it("when the source is a directory", async () => {
    const folder = dir.file("folder");
    mkdirSync(folder);
    await expectFailure(folder, dir.file("target"), `'${folder}' is a directory, not a regular file`);
  });

  it("when the source is a FIFO (without waiting for a writer)", async () => {
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o600);
    await expectFailure(fifo, dir.file("target"), `'${fifo}' is a FIFO, not a regular file`);
  });

  it("when the destination folder is missing, or is a file", async () => {
    const source = dir.file("source");
    writeFileSync(source, "data");
    await expectFailure(source, dir.file("missing/target"), `the destination folder '${dir.file("missing")}' does not exist`);
    await expectFailure(source, dir.file("source/target"), `the destination folder '${source}' is a regular file, not a folder`);
  });

  it("when the destination is empty, a missing folder spelled with a trailing slash, or a link to nothing", async () => {
    const source = dir.file("source");
    writeFileSync(source, "data");
    await expectFailure(source, "", "the destination is an empty path");
    await expectFailure(source, `${dir.file("missing")}/`, `the destination folder '${dir.file("missing")}/' does not exist`);
    const dangling = dir.file("dangling");
    symlinkSync(dir.file("nowhere"), dangling);
    await expectFailure(source, dangling, `'${dangling}' is a symbolic link to a file that does not exist: not writing through it`);
    expect(existsSync(dir.file("nowhere"))).toBe(false);
  });

  it("when the destination is a directory or a FIFO", async () => {
    const source = dir.file("source");
    writeFileSync(source, "data");
    const folder = dir.file("folder");
    mkdirSync(folder);
    await expectFailure(source, folder, `'${folder}' is a directory, not a regular file`);
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o600);
    await expectFailure(source, fifo, `'${fifo}' is a FIFO, not a regular file`);
  });

  it("when FILECOPY_WINDOW_BYTES is not a positive multiple of the page size", async () => {
    const source = dir.file("source");
    writeFileSync(source, "data");
    for (const window of [100, 0, -PAGE_SIZE]) {
      const result = await runCopy([source, dir.file("target")], window);
      expect(result).toMatchObject({ code: 1, stderr: `safe-copy: FILECOPY_WINDOW_BYTES must be a positive multiple of the page size (${PAGE_SIZE}), not '${window}'\n` });
    }
    const env = { ...process.env, FILECOPY_WINDOW_BYTES: "lots" };
    expect((await runProgram(copy, [source, dir.file("target")], { env })).stderr).toBe(`safe-copy: FILECOPY_WINDOW_BYTES must be a positive multiple of the page size (${PAGE_SIZE}), not 'lots'\n`);
    expect(entries()).toEqual(["source"]);
  });

  it("on a bad command line, printing usage; --help exits 0 and documents the window variable", async () => {
    const one = await runCopy([dir.file("x")]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/^safe-copy: missing DST\n\nusage: safe-copy SRC DST\n/);
    const three = await runCopy(["a", "b", "c"]);
    expect(three.code).toBe(1);
    expect(three.stderr).toMatch(/^safe-copy: unexpected argument 'c'\n/);
    const help = await runCopy(["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: safe-copy SRC DST\n/);
    expect(help.stdout).toContain("FILECOPY_WINDOW_BYTES=N");
  });
});
