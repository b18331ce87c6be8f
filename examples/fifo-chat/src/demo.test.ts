import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { runProgram, compiledProgram } from "@linux-ipc/testing/vitest";

const demo = compiledProgram(import.meta.url, "demo");
const leftovers = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith("fifo-chat-demo-"));

describe("demo", () => {
  it("runs a server and a client chatting both ways, a shell echo, and leaves nothing behind", async () => {
    const before = leftovers();
    const result = await runProgram(demo);
    // Only the server's notes on stderr: which FIFO it reads, who joined and left.
    expect(
      result.stderr
        .trimEnd()
        .split("\n")
        .every((line) => line.startsWith("[server] server: ")),
    ).toBe(true);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("=== fifo-chat: server/client over FIFOs, both ways (P11/P12) ===");
    for (const expected of [
      "[server] Client#: hello server",
      "[client] Server#: hello client",
      "[server] Client#: two FIFOs make a two-way pipe",
      "[client] Server#: one for each direction",
      "[server] Client#: a one-way line from a shell",
      "[client] client quit!!!",
      "[server] client quit!!!",
    ]) {
      expect(lines).toContain(expected);
    }
    expect(leftovers()).toEqual(before);
  });
});
