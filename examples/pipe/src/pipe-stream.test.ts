import { describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import { spawn } from "node:child_process";
import { pipe2, close, openDescriptors } from "@linux-ipc/core";
import { startProgram, compiledC, cSkipReason, compiledProgram } from "@linux-ipc/testing/vitest";

const pipeWriter = compiledProgram(import.meta.url, "pipe-writer");
const pipeReader = compiledProgram(import.meta.url, "pipe-reader");
const MIB = 1 << 20;

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

describe("a pipe between two sibling processes, as in `writer | reader`", () => {
  it("carries 1 MiB byte-exact and in order, and the parent that made it keeps none of its descriptors", async () => {
    const before = openDescriptors();
    const data = randomBytes(MIB);
    const [readEnd, writeEnd] = pipe2();
    const pipeInode = readlinkSync(`/proc/self/fd/${readEnd}`);
    const reader = startProgram(pipeReader, ["--hash"], { fds: [readEnd] });
    const writer = startProgram(pipeWriter, [], { fds: [writeEnd] });
    // Every write end must close for the reader to see end of file: the parent's copies go first.
    close(readEnd);
    close(writeEnd);
    expect(openDescriptors().filter((line) => line.endsWith(pipeInode))).toEqual([]);
    writer.child.stdin!.end(data);
    expect(await writer.exited).toMatchObject({ code: 0, stdout: `wrote ${MIB} bytes\n` });
    expect(await reader.exited).toMatchObject({ code: 0, stdout: `read() returned 0 (end of file) after ${MIB} bytes\nsha256 ${sha256(data)}\n` });
    // With both children gone, so are the sockets that carried their stdio.
    expect(openDescriptors()).toEqual(before);
  });

  it.skipIf(cSkipReason() !== null)("takes 1 MiB from a C writer byte for byte", async () => {
    const cWriter = compiledC(import.meta.url, "test/pattern-writer");
    const expected = Buffer.alloc(MIB);
    for (let i = 0; i < MIB; i++) expected[i] = (i * 31 + 7) % 251;
    const [readEnd, writeEnd] = pipe2();
    const reader = startProgram(pipeReader, ["--hash"], { fds: [readEnd] });
    const writer = spawn(cWriter, [], { stdio: ["ignore", writeEnd, "inherit"] });
    close(readEnd);
    close(writeEnd);
    const writerCode = await new Promise<number | null>((resolve) => writer.once("close", (code) => resolve(code)));
    expect(writerCode).toBe(0);
    expect(await reader.exited).toMatchObject({ code: 0, stdout: `read() returned 0 (end of file) after ${MIB} bytes\nsha256 ${sha256(expected)}\n` });
  });
});
