/**
 * Rings over a UNIX socket (ring_socket.ts): a server and clients in separate processes exchange
 * checked messages through a sealed memfd passed over the socket; uids are checked both ways; a
 * memfd that could change size is refused; after kill -9 of both sides nothing is left but a stale
 * socket file, which the next server replaces.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { lstatSync } from "node:fs";
import { connectRing, RingHandshakeError, RingListener } from "./ring_socket.ts";
import { UnixListener } from "./unix_socket.ts";
import { SOCK_SEQPACKET } from "../libc/sys/socket.ts";
import { memfd_create, MFD_CLOEXEC } from "../libc/sys/mman.ts";
import { close, ftruncate } from "../libc/unistd.ts";
import { startProgram, stopLeftoverPrograms, useTempDir } from "@linux-ipc/testing/vitest";

const peer = fileURLToPath(new URL("../../dist-fixtures/ring-socket-peer.js", import.meta.url));
const dir = useTempDir("ring-socket-");
afterEach(() => stopLeftoverPrograms(0));

const shmNames = (): string[] => readdirSync("/dev/shm").sort();

describe("rings over a UNIX socket", () => {
  it("give each client its own pair of rings: answers are checked in another process, and nothing is named in /dev/shm", async () => {
    const before = shmNames();
    const path = dir.file("rings.sock");
    const server = startProgram(peer, ["server", path]);
    await server.waitForLine("listening");
    const client = startProgram(peer, ["client", path, "2000"]);
    expect(await client.waitForLine(/^connected to pid \d+$/)).toBe(`connected to pid ${server.pid}`);
    expect(await client.waitForLine(/^checked \d+$/)).toBe("checked 2000");
    expect(await client.exited).toMatchObject({ code: 0 });
    expect(await server.waitForLine(/^served \d+$/)).toBe("served 2000");
    expect(await server.exited).toMatchObject({ code: 0 });
    expect(shmNames()).toEqual(before);
    expect(lstatSync(path, { throwIfNoEntry: false })).toBeUndefined();
  });

  it("a server refuses a client whose uid (from the kernel) it does not serve, and a client a server it does not trust", async () => {
    const uid = process.getuid!();
    const other = uid + 1;
    const address = dir.file("uids.sock");
    const errors: string[] = [];
    using listener = RingListener.listen(address, { allowUids: [other] });
    const abort = new AbortController();
    const serving = listener.accept({ signal: abort.signal, onClientError: (error) => errors.push(error.message) }).catch((error: unknown) => error);

    const distrustful = startProgram(peer, ["client", address, "1", "--trust-uid", String(other)]);
    expect(await distrustful.waitForLine(/^refused: /)).toMatch(new RegExp(`^refused: the server at .* \\(pid ${process.pid}\\) runs as uid ${uid}; this client trusts only uid ${other}$`));
    expect(await distrustful.exited).toMatchObject({ code: 3 });

    const refused = startProgram(peer, ["client", address, "1"]);
    expect(await refused.waitForLine(/^refused: /)).toMatch(new RegExp(`refused: uid ${uid} is not allowed: this server serves only uid ${other}$`));
    expect(await refused.exited).toMatchObject({ code: 3 });
    expect(errors).toContainEqual(expect.stringMatching(new RegExp(`^client pid ${refused.pid} refused: uid ${uid} is not allowed`)));
    abort.abort();
    expect(await serving).toMatchObject({ name: "AbortError" });
  });

  it("work on an abstract name, both sides in one process, with each side's peer as the kernel saw it", async () => {
    const address = `\0ring-socket-test-${process.pid}-${Date.now()}`;
    using listener = RingListener.listen(address);
    const [server, client] = await Promise.all([listener.accept(), connectRing(address)]);
    using _server = server;
    using _client = client;
    expect(server.peer.pid).toBe(process.pid);
    expect(client.peer.pid).toBe(process.pid);
    const buffer = new Uint8Array(64);
    await client.writer.sendAsync(new TextEncoder().encode("up"));
    expect(new TextDecoder().decode(buffer.subarray(0, await server.reader.receiveAsync(buffer)))).toBe("up");
    await server.writer.sendAsync(new TextEncoder().encode("down"));
    expect(new TextDecoder().decode(buffer.subarray(0, await client.reader.receiveAsync(buffer)))).toBe("down");
  });

  it("a client refuses a memfd whose size the server could still change", async () => {
    const path = dir.file("fake.sock");
    using fake = UnixListener.listen(path, { type: SOCK_SEQPACKET });
    const connecting = connectRing(path);
    using socket = await fake.accept();
    const fd = memfd_create("unsealed", MFD_CLOEXEC);
    ftruncate(fd, 2 * 4096);
    try {
      await socket.send("ring-socket 1 64", { fds: [fd] });
    } finally {
      close(fd);
    }
    await expect(connecting).rejects.toMatchObject({ code: "ERR_IPC_MEMFD_NOT_SEALED", missing: 6 });
  });

  it("a client that finds no ring server says what it got", async () => {
    const path = dir.file("silent.sock");
    using fake = UnixListener.listen(path, { type: SOCK_SEQPACKET });
    const connecting = connectRing(path);
    (await fake.accept()).close();
    await expect(connecting).rejects.toThrow(RingHandshakeError);
    await expect(connecting).rejects.toThrow(/did not send a ring \(it sent nothing and 0 descriptors\)/);
  });

  it("after kill -9 of both sides leaves nothing but the socket file, which the next server replaces", async () => {
    const before = shmNames();
    const path = dir.file("killed.sock");
    const server = startProgram(peer, ["server", path, "--hold"]);
    await server.waitForLine("listening");
    const client = startProgram(peer, ["client", path, "0", "--hold"]);
    await client.waitForLine("checked 0");
    await server.waitForLine(/^client pid \d+$/);
    server.kill("SIGKILL");
    client.kill("SIGKILL");
    await Promise.all([server.exited.catch(() => {}), client.exited.catch(() => {})]);
    expect(shmNames()).toEqual(before);
    expect(lstatSync(path).isSocket()).toBe(true);

    const next = startProgram(peer, ["server", path]);
    await next.waitForLine("listening");
    const fresh = startProgram(peer, ["client", path, "3"]);
    expect(await fresh.waitForLine(/^checked \d+$/)).toBe("checked 3");
    expect(await next.waitForLine(/^served \d+$/)).toBe("served 3");
  });
});
