import { describe, expect, it, vi } from "vitest";
import { writeFileSync, statSync, promises as fsPromises, symlinkSync } from "node:fs";
import { createOrReuseFifo, openFifoForReading, openFifoForWriting, tryOpenFifoForWriting, removeFifoIfPresent, NotAFifoError, ForeignFifoError } from "./fifo.ts";
import { open, fcntl, F_GETFL, F_GETFD, FD_CLOEXEC, O_NONBLOCK, O_WRONLY } from "../libc/fcntl.ts";
import { AsyncFd, readAsync, readLines, writeAllAsync } from "./pipe_io.ts";
import { close, read } from "../libc/unistd.ts";
import { mkfifo } from "../libc/sys/stat.ts";
import { openDescriptors } from "./procfs.ts";
import { createServer } from "node:net";
import { startCommand, useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();

function currentUmask(): number {
  const mask = process.umask(0);
  process.umask(mask);
  return mask;
}

describe("createOrReuseFifo", () => {
  it("creates a FIFO with the mode (less the umask), then reuses it", () => {
    const path = dir.file("fifo");
    expect(createOrReuseFifo(path, 0o644)).toBe(true);
    const { mode } = statSync(path);
    expect(mode & 0o170000).toBe(0o010000);
    expect(mode & 0o777).toBe(0o644 & ~currentUmask());
    expect(createOrReuseFifo(path, 0o644)).toBe(false);
    expect(removeFifoIfPresent(path)).toBe(true);
    expect(removeFifoIfPresent(path)).toBe(false);
  });

  it("refuses a regular file at the path, and reports a missing directory as ENOENT", () => {
    const path = dir.file("plain");
    writeFileSync(path, "not a fifo");
    expect(() => createOrReuseFifo(path, 0o644)).toThrow(NotAFifoError);
    expect(() => createOrReuseFifo(path, 0o644)).toThrow(`'${path}' is a regular file, not a FIFO`);
    expect(() => createOrReuseFifo(dir.file("missing/fifo"), 0o644)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "mkfifo" }));
  });
});

describe("opening a FIFO", () => {
  it("for reading returns at once with no writer, nonblocking and close-on-exec; writing without a reader is ENXIO", () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const before = openDescriptors();
    // Nobody reads yet: the plain nonblocking open fails with ENXIO, which tryOpenFifoForWriting reports as null.
    expect(() => open(path, O_WRONLY | O_NONBLOCK)).toThrow(expect.objectContaining({ code: "ENXIO", syscall: "open", path }));
    expect(tryOpenFifoForWriting(path)).toBeNull();
    const reader = openFifoForReading(path);
    try {
      expect(fcntl(reader, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
      expect(fcntl(reader, F_GETFD) & FD_CLOEXEC).toBe(FD_CLOEXEC);
      // read() itself cannot tell "no writer yet" from end of file: both return 0. Only epoll can,
      // which is why every reader here waits for readability before it reads.
      expect(read(reader, new Uint8Array(1))).toBe(0);
      const writer = tryOpenFifoForWriting(path);
      expect(writer).not.toBeNull();
      close(writer!);
      // noFollow: a symbolic link to the same FIFO is refused rather than followed.
      const link = dir.file("link");
      symlinkSync(path, link);
      close(tryOpenFifoForWriting(link)!);
      expect(() => tryOpenFifoForWriting(link, { noFollow: true })).toThrow(expect.objectContaining({ code: "ELOOP" }));
    } finally {
      close(reader);
    }
    expect(openDescriptors()).toEqual(before);
  });

  it("refuses a regular file and closes what it opened", () => {
    const path = dir.file("plain");
    writeFileSync(path, "x");
    const before = openDescriptors();
    expect(() => openFifoForReading(path)).toThrow(NotAFifoError);
    expect(() => tryOpenFifoForWriting(path)).toThrow(NotAFifoError);
    expect(openDescriptors()).toEqual(before);
  });

  it("a reader opened before any writer waits for the first writer's data instead of seeing end of file", async () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const reader = openFifoForReading(path);
    try {
      const lines = readLines(reader);
      const first = lines.next();
      // The writer is a separate process that starts well after the read began waiting: had epoll
      // reported a hang-up for the writer-less FIFO, the read would already have returned 0.
      const writer = startCommand("sh", ["-c", 'printf "hello\\nworld\\n" > "$0"', path]);
      expect(await first).toEqual({ value: "hello", done: false });
      expect(await lines.next()).toEqual({ value: "world", done: false });
      expect(await lines.next()).toEqual({ value: undefined, done: true });
      expect((await writer.exited).code).toBe(0);
    } finally {
      close(reader);
    }
  });

  it("for writing waits for a blocking reader such as cat, then writes to it", async () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const opening = openFifoForWriting(path);
    const cat = startCommand("cat", [path]);
    const writer = await opening;
    try {
      expect(fcntl(writer, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
      await writeAllAsync(writer, "to cat\n");
    } finally {
      close(writer);
    }
    expect(await cat.exited).toMatchObject({ code: 0, stdout: "to cat\n" });
  });

  it("for writing connects when a reader opens without blocking, woken by inotify with the retry timer frozen", async () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const before = openDescriptors();
    const giveUp = new AbortController();
    const limit = setTimeout(() => giveUp.abort(new Error("no IN_OPEN woke the writer within 10 s")), 10_000);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let reader: number | undefined;
    try {
      const opening = openFifoForWriting(path, { signal: giveUp.signal });
      reader = openFifoForReading(path);
      close(await opening);
    } finally {
      vi.useRealTimers();
      clearTimeout(limit);
      if (reader !== undefined) close(reader);
    }
    expect(openDescriptors()).toEqual(before);
  });

  it("through AsyncFds: a reader made before any writer waits for its data, and a writer waits for room", async () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const reader = new AsyncFd(openFifoForReading(path));
    try {
      const buffer = new Uint8Array(65536);
      // No writer yet: read(2) would say 0 as at end of file, this read waits.
      const first = reader.read(buffer);
      const writer = new AsyncFd(await openFifoForWriting(path));
      const data = Buffer.alloc(300_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
      // More than the FIFO holds: the writer waits for room while this side reads.
      const writing = writer.writeAll(data).then(() => writer.close());
      const received = [Buffer.from(buffer.subarray(0, await first))];
      for (let n: number; (n = await reader.read(buffer)) > 0; ) received.push(Buffer.from(buffer.subarray(0, n)));
      await writing;
      expect(Buffer.concat(received).equals(data)).toBe(true);
      expect(fcntl(reader.fd, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
    } finally {
      reader.close();
    }
  });

  it("for writing rejects at once on a missing path or a regular file", async () => {
    await expect(openFifoForWriting(dir.file("missing"))).rejects.toMatchObject({ code: "ENOENT", syscall: "open" });
    writeFileSync(dir.file("plain"), "");
    await expect(openFifoForWriting(dir.file("plain"))).rejects.toBeInstanceOf(NotAFifoError);
  });

  it("for reading with an owner, refuses a FIFO of another uid and keeps no descriptor", () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const uid = process.geteuid!();
    close(openFifoForReading(path, { owner: uid }));
    const before = openDescriptors().length;
    expect(() => openFifoForReading(path, { owner: uid + 1 })).toThrow(ForeignFifoError);
    expect(() => openFifoForReading(path, { owner: uid + 1 })).toThrow(`'${path}' is a FIFO of uid ${uid}, not of uid ${uid + 1}`);
    expect(openDescriptors()).toHaveLength(before);
  });

  it("for writing rejects at once on a UNIX socket, whose open fails with ENXIO too (not 'no reader yet')", async () => {
    const path = dir.file("socket");
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(path, resolve));
    try {
      // Before the check this retried until the signal: the rejection was a TimeoutError.
      const opening = openFifoForWriting(path, { signal: AbortSignal.timeout(3_000) });
      await expect(opening).rejects.toBeInstanceOf(NotAFifoError);
      await expect(opening).rejects.toMatchObject({ kind: "a socket", message: `'${path}' is a socket, not a FIFO` });
      expect(() => tryOpenFifoForWriting(path)).toThrow(NotAFifoError);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it("stops waiting for a reader when aborted, leaving nothing open", async () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const before = openDescriptors();
    const controller = new AbortController();
    const opening = openFifoForWriting(path, { signal: controller.signal });
    controller.abort(new Error("no reader came"));
    await expect(opening).rejects.toThrow("no reader came");
    await expect(openFifoForWriting(path, { signal: controller.signal })).rejects.toThrow("no reader came");
    expect(openDescriptors()).toEqual(before);
  });

  it("holds no libuv thread: six writers waiting for readers do not delay file system calls", async () => {
    const controller = new AbortController();
    const paths = Array.from({ length: 6 }, (_, i) => dir.file(`fifo${i}`));
    for (const path of paths) mkfifo(path, 0o600);
    const waiting = paths.map((path) => openFifoForWriting(path, { signal: controller.signal }));
    try {
      // fs.promises runs on the four-thread pool: had each pending open held a thread, this would never run.
      await fsPromises.readFile("/proc/self/status");
      await Promise.all(Array.from({ length: 8 }, () => fsPromises.stat(dir.path)));
    } finally {
      controller.abort();
    }
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.every((outcome) => outcome.status === "rejected")).toBe(true);
  });

  it("releases a writer blocked in open(O_WRONLY), reads its data, then end of file when it leaves", async () => {
    const path = dir.file("fifo");
    mkfifo(path, 0o600);
    const cat = startCommand("sh", ["-c", 'exec 3>"$0"; echo ready; read line; printf "%s\\n" "$line" >&3', path]);
    const reader = openFifoForReading(path);
    try {
      await cat.waitForLine("ready");
      cat.write("late line\n");
      const buffer = new Uint8Array(64);
      let text = "";
      for (let n: number; (n = await readAsync(reader, buffer)) > 0; ) text += Buffer.from(buffer.subarray(0, n)).toString();
      expect(text).toBe("late line\n");
    } finally {
      close(reader);
      cat.closeStdin();
    }
    expect((await cat.exited).code).toBe(0);
  });
});
