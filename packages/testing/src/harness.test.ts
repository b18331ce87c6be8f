// What a test written with @linux-ipc/testing looks like, and the harness's own guarantees.
import { describe, expect, it } from "vitest";
import { chmodSync, closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compiledProgram, runCommand, runProgram, startCommand, unusedIpcKey, useTempDir } from "./vitest.ts";

const dir = useTempDir("testing-harness-");

describe("the harness", () => {
  it("synchronises on a printed line, feeds stdin and collects how the program ended", async () => {
    const echo = startCommand("sh", ["-c", 'echo ready; read line; echo "got $line"; exit 3']);
    await echo.waitForLine("ready");
    echo.write("hello\n");
    await expect(echo.waitForLine(/^got /)).resolves.toBe("got hello");
    const result = await echo.exited;
    expect(result).toMatchObject({ code: 3, signal: null, stdout: "ready\ngot hello\n" });
  });

  it("says what was awaited when a program ends without printing it", async () => {
    const quiet = startCommand("sh", ["-c", "echo something else"]);
    await expect(quiet.waitForLine("ready")).rejects.toThrow(/exited \(code 0, signal null\) before printing a stdout line matching ready from sh/);
  });

  it("says what was awaited when the time runs out", async () => {
    const silent = startCommand("sh", ["-c", "read line"]);
    await expect(silent.waitForLine("ready", { timeoutMs: 50 })).rejects.toThrow(/timed out after 50 ms waiting for a stdout line matching ready/);
  });

  it("starts JavaScript with this node, and hands over descriptors as fds 3, 4, …", async () => {
    const script = dir.file("fds.mjs");
    writeFileSync(script, 'import { readFileSync } from "node:fs"; console.log(process.env.IPC_INHERITED_FDS, readFileSync(3, "utf8"));\n');
    writeFileSync(dir.file("handed-over"), "contents");
    const fd = openSync(dir.file("handed-over"), "r");
    try {
      const result = await runProgram(script, [], { fds: [fd] });
      expect(result).toMatchObject({ code: 0, stdout: "3 contents\n" });
    } finally {
      closeSync(fd);
    }
  });

  it("keeps stdout's bytes as written, for byte-exact checks", async () => {
    const result = await runCommand("printf", ["\\377\\000a"]);
    expect([...result.stdoutBytes]).toEqual([0xff, 0x00, 0x61]);
  });
});

describe("compiledProgram", () => {
  it("maps a test beside its sources to the compiled program", () => {
    expect(compiledProgram("file:///p/examples/x/src/copy.test.ts", "copy")).toBe("/p/examples/x/dist/copy.js");
    expect(compiledProgram("file:///p/pkg/src/sys/mman.test.ts", "child")).toBe("/p/pkg/dist/sys/child.js");
    expect(() => compiledProgram("file:///p/pkg/test/a.test.ts", "x")).toThrow(/is not inside a src folder/);
  });
});

describe("unusedIpcKey", () => {
  it("returns a key in the test range that no System V object uses", () => {
    const key = unusedIpcKey();
    expect(key).toBeGreaterThan(0x7e000000);
    expect(key).toBeLessThan(0x7f000000);
  });
});

describe("the C compiler probe", () => {
  it("runs on the first cCompiler() call, not when the package is imported", async () => {
    // A stand-in compiler that logs each time it is started, handed over through $CC.
    const log = dir.file("probes.log");
    const fakeCompiler = dir.file("fake-cc");
    writeFileSync(fakeCompiler, `#!/bin/sh\necho "$@" >> '${log}'\n`);
    writeFileSync(log, "");
    chmodSync(fakeCompiler, 0o755);
    const entry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    const script = `
      const testing = await import(${JSON.stringify(entry)});
      const { readFileSync } = await import("node:fs");
      console.log("after import:", JSON.stringify(readFileSync(${JSON.stringify(log)}, "utf8")));
      console.log("compiler:", testing.cCompiler() === process.env.CC, testing.cCompiler() === process.env.CC);
    `;
    const result = await runCommand(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, CC: fakeCompiler } });
    expect(result).toMatchObject({ code: 0, stdout: 'after import: ""\ncompiler: true true\n' });
    expect(readFileSync(log, "utf8")).toBe("--version\n");
  });
});
