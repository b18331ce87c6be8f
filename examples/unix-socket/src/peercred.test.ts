import { afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { compiledProgram, plantForeignSymlink, runProgram, startCommand, startProgram, stopLeftoverPrograms, useTempDir } from "@linux-ipc/testing/vitest";

const peercred = compiledProgram(import.meta.url, "peercred");
const client = compiledProgram(import.meta.url, "peercred-client");
const isRoot = process.getuid?.() === 0;
const dir = useTempDir();
afterEach(() => stopLeftoverPrograms());

const me = `uid ${process.getuid!()} gid ${process.getgid!()}`;

function startServer(path: string, args: string[] = []) {
  const server = startProgram(peercred, ["--socket", path, ...args]);
  return { server, ready: server.waitForLine(/^peercred: listening on /, { timeoutMs: 30_000 }) };
}

describe("peercred", () => {
  it("prints each client's pid, uid and gid from the kernel and greets a client of its own uid", async () => {
    const path = dir.file("peercred.sock");
    const { server, ready } = startServer(path, ["--count", "2"]);
    expect(await ready).toBe(`peercred: listening on ${path} (mode 0600), uid ${process.getuid!()}`);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    for (let i = 0; i < 2; i++) {
      const one = startProgram(client, ["--socket", path]);
      const result = await one.exited;
      expect(result).toMatchObject({ code: 0, stdout: `server says: hello, pid ${one.pid}\n`, stderr: "" });
      await server.waitForLine(`greeted pid ${one.pid}`);
      expect(server.lines()).toContain(`client pid ${one.pid} ${me}`);
    }
    expect(await server.exited).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(path)).toBe(false);
  });

  it.runIf(isRoot)("refuses a client running as nobody when its socket lets others connect, and nobody cannot connect to a 0600 one", async () => {
    chmodSync(dir.path, 0o755);
    const path = dir.file("open.sock");
    const { server, ready } = startServer(path, ["--count", "2", "--mode", "666"]);
    await ready;
    expect(lstatSync(path).mode & 0o777).toBe(0o666);
    const nobody = startCommand("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, client, "--socket", path]);
    expect(await nobody.exited).toMatchObject({ code: 2, stdout: "", stderr: "peercred-client: refused by the server\n" });
    await server.waitForLine(`refused pid ${nobody.pid}`);
    expect(server.lines().slice(1, 3)).toEqual([`client pid ${nobody.pid} uid 65534 gid 65534`, `refused pid ${nobody.pid}: user nobody (uid 65534) is not this server's user (user root (uid 0))`]);
    const same = await runProgram(client, ["--socket", path]);
    expect(same.stdout).toMatch(/^server says: hello, pid \d+\n$/);
    expect((await server.exited).code).toBe(0);

    const closed = dir.file("closed.sock");
    const second = startServer(closed, ["--count", "1"]);
    await second.ready;
    const denied = startCommand("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, client, "--socket", closed]);
    expect(await denied.exited).toMatchObject({ code: 1, stderr: `peercred-client: connect '${closed}': Permission denied\n` });
    expect(second.server.lines()).toHaveLength(1);
    second.server.kill("SIGTERM");
    expect((await second.server.exited).signal).toBe("SIGTERM");
    expect(existsSync(closed)).toBe(false);
  });

  it("replaces the socket file a SIGKILLed server left, unlinks it on SIGTERM, and leaves nothing behind", async () => {
    const path = dir.file("stale.sock");
    const first = startServer(path);
    await first.ready;
    first.server.kill("SIGKILL");
    await first.server.exited;
    expect(lstatSync(path).isSocket()).toBe(true);
    const refused = await runProgram(client, ["--socket", path]);
    expect(refused).toMatchObject({ code: 1, stderr: `peercred-client: connect '${path}': Connection refused\n` });

    const second = startServer(path);
    await second.ready;
    expect((await runProgram(client, ["--socket", path])).code).toBe(0);
    // A second server while this one lives is refused, and takes nothing away from it.
    const rival = startProgram(peercred, ["--socket", path]);
    expect(await rival.exited).toMatchObject({ code: 1, stderr: `peercred: EADDRINUSE: address already in use, bind '${path}' (a server is listening there)\n` });
    // Its probe was a connection like any other (usually gone before its greeting): the server goes on.
    await second.server.waitForLine(`client pid ${rival.pid} `);
    expect((await runProgram(client, ["--socket", path])).code).toBe(0);
    second.server.kill("SIGTERM");
    expect(await second.server.exited).toMatchObject({ signal: "SIGTERM", stderr: "" });
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it("listens on an abstract name (@NAME) that leaves no file, even when killed", async () => {
    const name = `@linux-ipc-test-${randomUUID()}`;
    const first = startServer(name);
    expect(await first.ready).toBe(`peercred: listening on ${name} (an abstract name: no file, no mode), uid ${process.getuid!()}`);
    const one = startProgram(client, ["--socket", name]);
    expect(await one.exited).toMatchObject({ code: 0, stdout: `server says: hello, pid ${one.pid}\n` });
    first.server.kill("SIGKILL");
    await first.server.exited;
    // The name went with the server's last socket: nobody listens, and a new server takes it at once.
    expect(await runProgram(client, ["--socket", name])).toMatchObject({ code: 1, stderr: `peercred-client: connect '${name}': Connection refused\n` });
    const second = startServer(name, ["--count", "1"]);
    await second.ready;
    expect((await runProgram(client, ["--socket", name])).code).toBe(0);
    expect((await second.server.exited).code).toBe(0);
  });

  it("never follows or removes a symbolic link planted at its path, and explains bad arguments", async () => {
    const target = dir.file("precious");
    writeFileSync(target, "keep me");
    const link = dir.file("planted.sock");
    plantForeignSymlink(target, link);
    const result = await runProgram(peercred, ["--socket", link]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: `peercred: EADDRINUSE: address already in use, bind '${link}' (a symbolic link is there, not a socket: left as it is)\n` });
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, "utf8")).toBe("keep me");
    expect(await runProgram(peercred, [])).toMatchObject({ code: 1, stderr: "peercred: --socket PATH is required\n" });
    expect(await runProgram(client, ["--socket", dir.file("nothing.sock")])).toMatchObject({ code: 1, stderr: `peercred-client: connect '${dir.file("nothing.sock")}': No such file or directory\n` });
    expect(await runProgram(peercred, ["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("usage: peercred") });
  });
});
