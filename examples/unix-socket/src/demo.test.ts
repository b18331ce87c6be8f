import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { compiledProgram, runProgram } from "@linux-ipc/testing/vitest";

const demoDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith("unix-socket-demo-"));

describe("demo", () => {
  it("runs mycat, socketpair and peercred, succeeds, and removes its folder", async () => {
    const before = demoDirs();
    const result = await runProgram(compiledProgram(import.meta.url, "demo"), []);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("[mycat] This file was opened by openfile, and its descriptor sent to mycat over a socketpair.");
    expect(result.stderr).toMatch(/\[mycat\] mycat: open '.*missing\.txt': No such file or directory/);
    expect(result.stdout).toContain("[socketpair] child is quit success");
    expect(result.stdout).toMatch(/\[peercred-client\] server says: hello, pid \d+/);
    expect(demoDirs()).toEqual(before);
  });
});
