import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { runProgram } from "@linux-ipc/testing/vitest";
import * as core from "../index.ts";

describe("loading the package", () => {
  it("fails on another OS with one sentence saying what it needs", async () => {
    const result = await runProgram(fileURLToPath(new URL("../../dist-fixtures/import-as-darwin.js", import.meta.url)));
    expect(result.stdout).toBe(`@linux-ipc/core runs only on Linux x86_64 or arm64 (this is darwin ${process.arch}).\n`);
    expect(result.code).toBe(0);
  });

  it("exposes every module's calls from the package root", () => {
    for (const name of ["open", "read", "write", "mmap", "memfd_create", "shm_open", "ftok", "shmget", "shmat", "mkfifo", "pipe2", "spawnWithFds", "openFifoForWriting"]) {
      expect(typeof (core as Record<string, unknown>)[name], name).toBe("function");
    }
  });
});
