import { afterEach, describe, expect, it } from "vitest";
import { compiledProgram, runProgram, stopLeftoverPrograms } from "@linux-ipc/testing/vitest";

const socketpair = compiledProgram(import.meta.url, "socketpair");
const child = compiledProgram(import.meta.url, "socketpair-child");
afterEach(() => stopLeftoverPrograms());

const fromChild = "parent get message from child : I am a child!!!";
const fromParent = "child get message from parent : I am your parent!!!";

describe("socketpair (P10 over a socketpair, both ways at once)", () => {
  it("each side prints every message of the other, then the other's end of file; the parent reaps the child", async () => {
    const result = await runProgram(socketpair, ["--count", "4", "--interval", "0"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const [descriptors, ...lines] = result.stdout.trimEnd().split("\n");
    expect(descriptors).toMatch(/^\d+, \d+$/);
    // The two processes print to one terminal, in whatever order they run: each side's own lines keep theirs.
    expect(lines.filter((line) => line.startsWith("parent get") || line.startsWith("child is"))).toEqual([...Array<string>(4).fill(fromChild), "child is quit!!!", "child is quit success"]);
    expect(lines.filter((line) => line.startsWith("child get") || line === "parent is done!!!")).toEqual([...Array<string>(4).fill(fromParent), "parent is done!!!"]);
    expect(lines).toHaveLength(11);
  });

  it("keeps each message whole and apart (SOCK_SEQPACKET) over many, and copes with none", async () => {
    const many = await runProgram(socketpair, ["--count", "2000", "--interval", "0"]);
    expect(many.code).toBe(0);
    const lines = many.stdout.trimEnd().split("\n");
    expect(lines.filter((line) => line === fromChild)).toHaveLength(2000);
    expect(lines.filter((line) => line === fromParent)).toHaveLength(2000);
    const none = await runProgram(socketpair, ["--count", "0"]);
    expect(none.stdout.trimEnd().split("\n").slice(1).sort()).toEqual(["child is quit success", "child is quit!!!", "parent is done!!!"]);
  });

  it("the child alone explains what it needs; bad arguments exit 1", async () => {
    expect(await runProgram(child)).toMatchObject({ code: 1, stderr: "socketpair-child: no socket to talk on: run it through socketpair, which passes one as fd 3\n" });
    expect(await runProgram(socketpair, ["--count=-1"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^socketpair: --count must be at least 0, not -1/) });
  });
});
