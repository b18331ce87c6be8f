/**
 * Waiting for a descriptor without holding a thread: libuv's poll handle (epoll underneath), through
 * koffi. Only pipes, FIFOs, sockets and character devices can be waited on; epoll refuses regular
 * files, which are always ready, so those resolve at once.
 *
 * libuv switches a polled descriptor to O_NONBLOCK when it makes the handle (on its open file
 * description, which a child that inherited it shares too). epoll does not need that flag, so the
 * descriptor's flags are put back at once: a descriptor the caller left blocking stays blocking, and
 * a later plain read() or write() behaves as the caller expects.
 */
import { koffi, type PollHandle } from "../ffi/libc.ts";
import { fcntl, F_GETFL, F_SETFL } from "../libc/fcntl.ts";
import { fstat, S_ISCHR, S_ISFIFO, S_ISSOCK } from "../libc/sys/stat.ts";

/** What to wait for: data to read (or end of file), or room to write (or no reader). */
export type Readiness = "readable" | "writable";

/** Options of `waitForFd`. */
export interface WaitOptions {
  /** Rejects with an AbortError-like error when the signal aborts. */
  signal?: AbortSignal;
  /** Keeps the process alive while waiting (default true). */
  ref?: boolean;
}

/**
 * Whether epoll can wait on `fd` (a pipe, FIFO, socket or character device); regular files are
 * always ready.
 */
export function isPollable(fd: number): boolean {
  const { mode } = fstat(fd);
  return S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode);
}

/** Resolves when `fd` is readable (data or end of file) or writable (room, or the reader is gone). */
export function waitForFd(fd: number, readiness: Readiness, options: WaitOptions = {}): Promise<void> {
  if (!isPollable(fd)) return Promise.resolve();
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    let handle: PollHandle | null = null;
    const finish = (error?: Error): void => {
      signal?.removeEventListener("abort", onAbort);
      handle?.close();
      handle = null;
      if (error) reject(error);
      else resolve();
    };
    const onAbort = (): void => finish(abortError(signal!));
    signal?.addEventListener("abort", onAbort, { once: true });
    const flags = fcntl(fd, F_GETFL);
    handle = koffi.node.poll(fd, { [readiness]: true }, () => finish());
    fcntl(fd, F_SETFL, flags);
    if (options.ref === false) handle.unref();
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" });
}
