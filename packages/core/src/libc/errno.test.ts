import { describe, expect, it } from "vitest";
import { openSync } from "node:fs";
import { getSystemErrorName } from "node:util";
import { SystemError, Errno, errnoName, strerror, isSystemError } from "./errno.ts";
import { koffi, libc } from "../ffi/libc.ts";
import { open, O_RDONLY } from "./fcntl.ts";

describe("SystemError", () => {
  it("has the shape and message of Node's own fs errors", () => {
    let ours: unknown;
    let nodes: unknown;
    try {
      open("./abc.txt", O_RDONLY);
    } catch (error) {
      ours = error;
    }
    try {
      openSync("./abc.txt", "r");
    } catch (error) {
      nodes = error;
    }
    expect(ours).toBeInstanceOf(SystemError);
    expect(ours).toBeInstanceOf(Error);
    const { message, code, syscall, path } = nodes as NodeJS.ErrnoException;
    expect(ours).toMatchObject({ message, code, syscall, path, errno: 2 });
    expect((ours as Error).message).toBe("ENOENT: no such file or directory, open './abc.txt'");
    expect(isSystemError(ours, "ENOENT")).toBe(true);
    expect(isSystemError(ours, "EACCES")).toBe(false);
  });

  it("names errno values and gives the C library's text for perror", () => {
    expect(errnoName(13)).toBe("EACCES");
    expect(strerror(13)).toBe("Permission denied");
    expect(Errno.EAGAIN).toBe(11);
    expect(new SystemError(17, "shmget").perrorLine).toBe("shmget: File exists");
    // Errors Node's own table has no name for, which System V IPC returns.
    expect(errnoName(43)).toBe("EIDRM");
    expect(Errno.EIDRM).toBe(43);
    expect(new SystemError(43, "semop").message).toBe("EIDRM: identifier removed, semop");
  });

  it("reads errno right after an async (thread pool) call, not the main thread's", async () => {
    const close_async = libc.func("int close(int fd)");
    const result = await new Promise<{ ret: number; errno: number }>((resolve, reject) => {
      close_async.async(987654, (error: unknown, ret: number) => {
        if (error) reject(error);
        else resolve({ ret, errno: koffi.errno() });
      });
      // The main thread sets its own errno meanwhile: the async result must not see it.
      koffi.errno(Errno.ENOENT);
    });
    expect(result).toEqual({ ret: -1, errno: Errno.EBADF });
  });
});

describe("errno names that share a number", () => {
  it("match each other: errno 95 is ENOTSUP and EOPNOTSUPP, 11 EAGAIN and EWOULDBLOCK", () => {
    const unsupported = new SystemError(95, "fallocate", { path: "f" });
    expect(unsupported.code).toBe("ENOTSUP");
    expect(isSystemError(unsupported, "ENOTSUP")).toBe(true);
    expect(isSystemError(unsupported, "EOPNOTSUPP")).toBe(true);
    expect(Errno.EOPNOTSUPP).toBe(95);
    expect(isSystemError(new SystemError(11, "read"), "EWOULDBLOCK")).toBe(true);
    expect(isSystemError(unsupported, "EAGAIN")).toBe(false);
  });
});

describe("errno names", () => {
  it("are Node's names wherever Node's table has the number, and Linux's where it has none", () => {
    for (let errno = 1; errno <= 133; errno++) {
      const node = getSystemErrorName(-errno);
      if (!node.startsWith("Unknown system error")) expect(errnoName(errno)).toBe(node);
    }
    expect(errnoName(35)).toBe("EDEADLK");
    expect(errnoName(130)).toBe("EOWNERDEAD");
    expect(errnoName(4000)).toBe("E4000");
    expect(new SystemError(4000, "read").code).toBe("E4000");
  });

  it("hold errno names only (Node's table also has libuv's EOF, EAI_* and UNKNOWN, which are no errno)", () => {
    expect(Object.keys(Errno).filter((name) => !/^E[A-Z0-9]+$/.test(name) || name.startsWith("EAI_") || name === "EOF")).toEqual([]);
    expect(Object.values(Errno).every((errno) => Number.isInteger(errno) && errno >= 1 && errno <= 133)).toBe(true);
  });

  it("are a type: a misspelt name does not compile", () => {
    const error: unknown = new SystemError(13, "open");
    // @ts-expect-error: "EACESS" is no errno name (EACCES is)
    expect(isSystemError(error, "EACESS")).toBe(false);
    // @ts-expect-error: "ENOSUCHNAME" is no errno name
    expect(() => Errno.ENOSUCHNAME).not.toThrow();
    expect(isSystemError(error, "EACCES")).toBe(true);
    if (isSystemError(error)) {
      // @ts-expect-error: a SystemError's code is an errno name, so comparing it with a misspelt one is a compile error
      expect(error.code === "EACESS").toBe(false);
    }
  });
});
