import { describe, expect, it } from "vitest";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const demo = compiledProgram(import.meta.url, "demo");

describe("demo", () => {
  it("runs parent and child with a file, then with a memfd, each under a heading", async () => {
    const result = await runProgram(demo);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe("=== parent-child: a parent and its child share a mapped file (P1) ===");
    expect(lines[2]).toMatch(/^child \d+ read: I am the parent, pid \d+$/);
    expect(lines[4]).toBe("=== parent-child: a parent and its child share a memfd (P1) ===");
    expect(lines[6]).toMatch(/^child \d+ read: 我是你爹$/);
    expect(lines[7]).toMatch(/^parent \d+ read the child's reply: child \d+ \(parent \d+\) got 12 bytes$/);
  });

  it("passes its options to parent and runs it once, as parent itself (no heading; parent's --help)", async () => {
    const result = await runProgram(demo, ["--anonymous", "--message", "hi"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^child \d+ read: hi$/);
    const help = await runProgram(demo, ["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: parent /);
  });

  it("exits non-zero when parent fails", async () => {
    const result = await runProgram(demo, ["--file", "/nonexistent-folder/page"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("[parent] parent: open '/nonexistent-folder/page': No such file or directory\n[parent] exited with code 1, expected exit code 0\n");
  });
});
