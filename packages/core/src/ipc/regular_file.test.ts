import { describe, expect, it } from "vitest";
import { readdirSync, mkdirSync } from "node:fs";
import { openRegularFile, NotRegularFileError } from "./regular_file.ts";
import { fileTypeName } from "../libc/sys/stat.ts";
import { O_RDONLY, O_RDWR, O_CREAT, O_NONBLOCK, F_GETFL, fcntl } from "../libc/fcntl.ts";
import { close } from "../libc/unistd.ts";
import { mkfifo, stat, S_IFIFO } from "../libc/sys/stat.ts";
import { SystemError } from "../libc/errno.ts";
import { useTempDir } from "@linux-ipc/testing/vitest";

const dir = useTempDir();
const openDescriptors = (): number => readdirSync("/proc/self/fd").length;

describe("openRegularFile", () => {
  it("opens a regular file (creating it with O_CREAT) and returns its status, without O_NONBLOCK left on", () => {
    const path = dir.file("data");
    const { fd, stat: info } = openRegularFile(path, O_RDWR | O_CREAT, 0o600);
    try {
      expect(info.size).toBe(0);
      expect(info.ino).toBe(stat(path).ino);
      expect(fcntl(fd, F_GETFL) & O_NONBLOCK).toBe(0);
    } finally {
      close(fd);
    }
  });

  it("refuses a directory, a FIFO (without blocking) and a character device, closing the descriptor", () => {
    const folder = dir.file("folder");
    mkdirSync(folder);
    const fifo = dir.file("fifo");
    mkfifo(fifo, 0o600);
    const before = openDescriptors();
    expect(() => openRegularFile(folder, O_RDONLY)).toThrow(new NotRegularFileError(folder, "a directory"));
    expect(() => openRegularFile(fifo, O_RDONLY)).toThrow(`'${fifo}' is a FIFO, not a regular file`);
    expect(() => openRegularFile("/dev/null", O_RDONLY)).toThrow(expect.objectContaining({ code: "ERR_NOT_REGULAR_FILE", path: "/dev/null", type: "a character device" }));
    expect(openDescriptors()).toBe(before);
  });

  it("lets open's own errors through as SystemErrors naming the path", () => {
    const missing = dir.file("missing");
    expect(() => openRegularFile(missing, O_RDONLY)).toThrow(SystemError);
    expect(() => openRegularFile(missing, O_RDONLY)).toThrow(`ENOENT: no such file or directory, open '${missing}'`);
    expect(() => openRegularFile(dir.path, O_RDWR)).toThrow(expect.objectContaining({ code: "EISDIR", path: dir.path }));
  });
});

describe("fileTypeName", () => {
  it("names each type and says so for an unknown one", () => {
    expect(fileTypeName(S_IFIFO | 0o644)).toBe("a FIFO");
    expect(fileTypeName(0o644)).toBe("a file of unknown type 0o0");
  });
});
