import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { parseCommand, parseInteger, UsageError, HelpRequested, describeFailure } from "./cli.ts";
import { SystemError, waitUntilBlocked } from "@linux-ipc/core";
import { runProgram, startProgram } from "@linux-ipc/testing/vitest";

const spec = {
  name: "tool",
  summary: "does a thing",
  positionals: ["FILE", "EXTRA?"],
  options: {
    key: { type: "integer", value: "K", description: "the key", default: 1234 },
    interval: { type: "integer", value: "MS", description: "between ticks", default: 1000, min: 0 },
    message: { type: "string", value: "TEXT", description: "what to send" },
    anonymous: { type: "boolean", description: "use memfd" },
  },
} as const;

describe("parseInteger", () => {
  it("takes decimal and 0x hex as C would, and nothing else", () => {
    expect(parseInteger("1234", "n")).toBe(1234);
    expect(parseInteger("0x6666", "n")).toBe(0x6666);
    expect(parseInteger("0XfF", "n")).toBe(255);
    expect(parseInteger("-3", "n")).toBe(-3);
    for (const bad of ["", "12a", "0x", "1.5", "ten", "0x1g"]) expect(() => parseInteger(bad, "--key")).toThrow(/--key must be an integer/);
  });
});

describe("parseCommand", () => {
  it("parses options, defaults and positionals", () => {
    const parsed = parseCommand(spec, ["f.txt", "--key", "0x4d2", "--anonymous", "--message", "hi"]);
    expect(parsed.values).toEqual({ key: 1234, interval: 1000, message: "hi", anonymous: true });
    expect(parsed.positionals).toEqual(["f.txt"]);
  });

  it("throws usage errors naming what was wrong", () => {
    expect(() => parseCommand(spec, [])).toThrow(UsageError);
    expect(() => parseCommand(spec, [])).toThrow("tool: missing FILE");
    expect(() => parseCommand(spec, ["a", "b", "c"])).toThrow(/unexpected argument 'c'/);
    expect(() => parseCommand(spec, ["a", "--nope"])).toThrow(UsageError);
    expect(() => parseCommand(spec, ["a", "--interval=-1"])).toThrow("tool: --interval must be at least 0, not -1");
    expect(() => parseCommand(spec, ["a", "--interval", "-1"])).toThrow("tool: --interval must be at least 0, not -1");
    expect(parseCommand(spec, ["a", "--key", "-0x10"]).values.key).toBe(-16);
    expect(() => parseCommand(spec, ["a", "--key", "zz"])).toThrow(/--key must be an integer in decimal or 0x hex, not 'zz'/);
  });

  it("answers --help with the usage text", () => {
    try {
      parseCommand(spec, ["--help"]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HelpRequested);
      const text = (error as HelpRequested).text;
      expect(text.split("\n")[0]).toBe("usage: tool FILE [EXTRA] [--key K] [--interval MS] [--message TEXT] [--anonymous]");
      expect(text).toContain("between ticks (default: 1000)");
    }
  });

  it("says where the tutorial programs are described when the help names one, and only then", () => {
    const helpOf = (summary: string): string => {
      try {
        parseCommand({ ...spec, summary }, ["--help"]);
      } catch (error) {
        return (error as HelpRequested).text;
      }
      throw new Error("no help");
    };
    const pointer = "P1…P14 are the tutorial programs: see docs/tutorials.md in the repository.";
    expect(helpOf("P5: counts in a segment").endsWith(`\n\n${pointer}`)).toBe(true);
    expect(helpOf("a writer (P14, with semaphores)")).toContain(pointer);
    expect(helpOf("does a thing")).not.toContain("docs/tutorials.md");
    expect(helpOf("uses P15 and PIPE_BUF")).not.toContain("docs/tutorials.md");
  });

  it("describes failures in one line, naming the path", () => {
    expect(describeFailure("reader", new SystemError(2, "open", { path: "/x" }))).toBe("reader: open '/x': No such file or directory");
    expect(describeFailure("shmread", new SystemError(2, "shmget"))).toBe("shmread: shmget: No such file or directory");
  });
});

describe("runMain in a real program", () => {
  const program = fileURLToPath(new URL("../dist-fixtures/cli-program.js", import.meta.url));

  it("exits 0 with usage on stdout for --help", async () => {
    const result = await runProgram(program, ["--help"]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^usage: cli-program FILE/);
  });

  it("exits 1 with the error and usage on stderr for a bad argument", async () => {
    const result = await runProgram(program, ["f", "--count", "x"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^cli-program: --count must be an integer in decimal or 0x hex, not 'x'\n\nusage: /);
  });

  it("exits 1 with one line for a failing system call", async () => {
    const result = await runProgram(program, ["/nonexistent/file"]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: "cli-program: open '/nonexistent/file': No such file or directory\n" });
  });

  it("ends with an ExitError's code, the failure still told in the same one line", async () => {
    const result = await runProgram(program, ["/nonexistent/file", "--open-fails-with", "2"]);
    expect(result).toMatchObject({ code: 2, stdout: "", stderr: "cli-program: open '/nonexistent/file': No such file or directory\n" });
  });

  it("lets the signal that ended a sync wait with EINTR reach the program's listener, which cleans up and ends it by that signal", async () => {
    const running = startProgram(program, ["/etc/hostname", "--sync-wait"]);
    const waiting = await running.waitForLine(/^waiting \d+$/);
    // glibc's poll() is the ppoll system call on arm64.
    await waitUntilBlocked(running.pid, ["poll", "ppoll"]);
    running.kill("SIGTERM");
    expect(await running.exited).toMatchObject({ signal: "SIGTERM", stderr: "", stdout: `opened /etc/hostname\n${waiting}\ncleanup after SIGTERM\n` });
  });
});
