import { afterEach, describe, expect, it } from "vitest";
import { lstatSync, readdirSync, symlinkSync } from "node:fs";
import { compiledProgram, runProgram, startProgram, stopLeftoverPrograms, useTempDir } from "@linux-ipc/testing/vitest";

const server = compiledProgram(import.meta.url, "ring-server");
const client = compiledProgram(import.meta.url, "ring-client");
const dir = useTempDir("ring-server-");
afterEach(() => stopLeftoverPrograms());

const shmNames = (): string[] => readdirSync("/dev/shm").sort();

describe("ring-server and ring-client", () => {
  it("serve three clients at once through rings received over the socket, every answer checked, and SIGTERM removes the socket file", async () => {
    const before = shmNames();
    const path = dir.file("rings.sock");
    const running = startProgram(server, ["--socket", path]);
    await running.waitForLine(`listening on ${path}`);
    const counts = [300, 200, 100];
    const clients = counts.map((count) => startProgram(client, ["--socket", path, "--count", String(count)]));
    for (const [index, count] of counts.entries()) {
      const each = clients[index]!;
      expect(await each.waitForLine(/^connected/)).toBe(`connected to server pid ${running.pid}`);
      expect(await each.waitForLine(/messages sent/)).toBe(`${count} messages sent, ${count} answers checked`);
      expect(await each.exited).toMatchObject({ code: 0 });
      await running.waitForLine(`client pid ${each.pid}: ${count} messages answered`);
    }
    expect(shmNames()).toEqual(before);
    running.kill("SIGTERM");
    expect(await running.exited).toMatchObject({ signal: "SIGTERM" });
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeUndefined();
  });

  it("a server killed with SIGKILL leaves its socket file, which the next server replaces; a client then finds the new one", async () => {
    const path = dir.file("killed.sock");
    const first = startProgram(server, ["--socket", path]);
    await first.waitForLine(`listening on ${path}`);
    first.kill("SIGKILL");
    await first.exited.catch(() => {});
    expect(lstatSync(path).isSocket()).toBe(true);
    const second = startProgram(server, ["--socket", path]);
    await second.waitForLine(`listening on ${path}`);
    const result = await runProgram(client, ["--socket", path, "--count", "3"]);
    expect(result).toMatchObject({ code: 0, stdout: `connected to server pid ${second.pid}\n3 messages sent, 3 answers checked\n` });
  });

  it("never follows a symbolic link planted at its socket path: it refuses, and the link's target is not created", async () => {
    const path = dir.file("planted.sock");
    const target = dir.file("target");
    symlinkSync(target, path);
    const result = await runProgram(server, ["--socket", path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ring-server: bind '.*planted\.sock': Address already in use \(a symbolic link is there, not a socket: left as it is\)\n$/);
    expect(lstatSync(target, { throwIfNoEntry: false })).toBeUndefined();
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
  });

  it("a client with no server, or without --socket, says so in one line and exits 1", async () => {
    const missing = await runProgram(client, ["--socket", dir.file("nobody-here.sock")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^ring-client: connect '.*nobody-here\.sock': No such file or directory\n$/);
    const usage = await runProgram(client, []);
    expect(usage).toMatchObject({ code: 1, stderr: "ring-client: --socket PATH is required\n" });
  });
});
