import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { pipe2, close, spawnWithFds, openDescriptors, childPids } from "@linux-ipc/core";
import { startProgram, runProgram, runCommand, compiledC, cSkipReason, compiledProgram } from "@linux-ipc/testing/vitest";

const parentChild = compiledProgram(import.meta.url, "parent-child");
const child = compiledProgram(import.meta.url, "child");
const message = "parent get message from child : I am a child!!!";

function outputLines(stdout: string): { descriptors: string; rest: string[] } {
  const [descriptors, ...rest] = stdout.trimEnd().split("\n");
  return { descriptors: descriptors!, rest };
}

describe("parent-child (P10)", () => {
  it("prints the descriptors, one line per message, end of file, then the reaped child", async () => {
    const result = await runProgram(parentChild, ["--count", "3", "--interval", "0"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const { descriptors, rest } = outputLines(result.stdout);
    expect(descriptors).toMatch(/^\d+, \d+$/);
    expect(rest).toEqual([message, message, message, "child is quit!!!", "child is quit success"]);
  });

  it("writes five messages by default, and copes with none", async () => {
    const five = await runProgram(parentChild, ["--interval", "1"]);
    expect(outputLines(five.stdout).rest).toEqual([...Array<string>(5).fill(message), "child is quit!!!", "child is quit success"]);
    const none = await runProgram(parentChild, ["--count", "0"]);
    expect(outputLines(none.stdout).rest).toEqual(["child is quit!!!", "child is quit success"]);
  });

  it("leaves the write end to the child alone (fd 3) and keeps only the read end; a killed child is reported", async () => {
    const parent = startProgram(parentChild, ["--count", "2", "--interval", "60000"]);
    try {
      await parent.waitForLine(message);
      const readEnd = Number(parent.lines()[0]!.split(", ")[0]);
      const parentFds = openDescriptors(parent.pid);
      const pipeInode = parentFds.find((line) => line.startsWith(`${readEnd} -> `))!.split(" -> ")[1]!;
      expect(pipeInode).toMatch(/^pipe:\[\d+\]$/);
      // The parent closed its copy of the write end: only its read end is on this pipe.
      expect(parentFds.filter((line) => line.endsWith(` -> ${pipeInode}`))).toEqual([`${readEnd} -> ${pipeInode}`]);
      const [childPid] = childPids(parent.pid);
      expect(childPid).toBeDefined();
      // The child got the write end as fd 3 and nothing else of the pipe (pipe2 made it close-on-exec).
      expect(openDescriptors(childPid!).filter((line) => line.endsWith(` -> ${pipeInode}`))).toEqual([`3 -> ${pipeInode}`]);
      process.kill(childPid!, "SIGTERM");
      const result = await parent.exited;
      expect(result.code).toBe(1);
      expect(outputLines(result.stdout).rest).toEqual([message, "child is quit!!!"]);
      expect(result.stderr).toBe("parent-child: the child ended with SIGTERM\n");
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("carries 1 MiB (65536 messages of 16 bytes) complete and in order", async () => {
    const result = await runProgram(parentChild, ["--count", "65536", "--interval", "0"]);
    expect(result.code).toBe(0);
    const { rest } = outputLines(result.stdout);
    expect(rest.slice(-2)).toEqual(["child is quit!!!", "child is quit success"]);
    const messages = rest.slice(0, -2);
    expect(messages).toHaveLength(65536);
    const received = messages.map((line) => `${line.slice("parent get message from child : ".length)}\n`).join("");
    expect(Buffer.byteLength(received)).toBe(1 << 20);
    expect(createHash("sha256").update(received).digest("hex")).toBe(createHash("sha256").update("I am a child!!!\n".repeat(65536)).digest("hex"));
  });

  it("refuses a negative count (exit 1), answers --help (exit 0), and the child alone explains itself", async () => {
    const bad = await runProgram(parentChild, ["--count=-1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^parent-child: --count must be at least 0, not -1/);
    expect(await runProgram(parentChild, ["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("usage: parent-child [--count N] [--interval MS]") });
    expect(await runProgram(child)).toMatchObject({ code: 1, stderr: "child: no pipe to write to: run it through parent-child, which passes one as fd 3\n" });
  });

  it.skipIf(cSkipReason() !== null)("prints what the tutorial's C program (c/parent-child.c) prints, one line per message where the C's reads may join them", async () => {
    const c = await runCommand(compiledC(import.meta.url, "parent-child"), ["3", "0"]);
    expect(c).toMatchObject({ code: 0, stderr: "" });
    // Started with only 0, 1 and 2 open, the C gets 3 and 4; its child's messages have no newline,
    // so what one read() returned is one line, and messages read together share it.
    const [descriptors, ...rest] = c.stdout.trimEnd().split("\n");
    expect(descriptors).toBe("3, 4");
    expect(rest.slice(-2)).toEqual(["child is quit!!!", "child is quit success"]);
    const received = rest
      .slice(0, -2)
      .map((line) => line.replace(/^parent get message from child : /, ""))
      .join("");
    expect(received).toBe("I am a child!!!".repeat(3));
    const ours = await runProgram(parentChild, ["--count", "3", "--interval", "0"]);
    expect(outputLines(ours.stdout).rest).toEqual([message, message, message, "child is quit!!!", "child is quit success"]);
  });

  it.skipIf(cSkipReason() !== null)("the C parent's read loop reads what the TypeScript child writes, byte for byte", async () => {
    const cParent = compiledC(import.meta.url, "test/read-loop");
    const [readEnd, writeEnd] = pipe2();
    const writer = spawnWithFds(child, ["--count", "1"], { fds: [writeEnd], stdio: ["ignore", "inherit", "inherit"] });
    const reader = spawn(cParent, [], { stdio: [readEnd, "pipe", "inherit"] });
    close(readEnd);
    close(writeEnd);
    let stdout = "";
    reader.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const [writerCode, readerCode] = await Promise.all([writer, reader].map((process) => new Promise<number | null>((resolve) => process.once("close", (code) => resolve(code)))));
    expect([writerCode, readerCode]).toEqual([0, 0]);
    // The C prints the message's own newline and then one of its own: the blank line the TypeScript parent avoids.
    expect(stdout).toBe("parent get message from child : I am a child!!!\n\nchild is quit!!!\n");
  });
});
