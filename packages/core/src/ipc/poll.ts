/**
 * Waiting for a descriptor without holding a thread: libuv's poll handle (epoll underneath), through
 * koffi. Pipes, FIFOs, sockets, character devices and the descriptors Linux makes on an anonymous
 * inode (eventfd, timerfd, signalfd, inotify, pidfd) can be waited on; epoll refuses regular files,
 * directories and block devices, which are always ready, so those resolve at once. WAITING-fds.md
 * says why it is built so.
 *
 * Two ways, by who owns the descriptor:
 * - `FdWaiter` keeps one libuv handle for every wait on its descriptor, stopped only when an event
 *   finds nobody waiting. libuv keeps a handle's descriptor number registered until the handle is
 *   stopped or closed, and aborts the process when that number comes back as another descriptor
 *   under it, so a waiter must be closed before its descriptor: `AsyncFd` (pipe_io.ts) owns both
 *   and closes them in that order, which is why the waiter itself is not part of the public API.
 * - `waitForFd` on a descriptor the caller keeps, and may close whenever it likes, adds it for one
 *   wait to an epoll set of this thread's own, which libuv polls through one handle kept for the
 *   thread's life. Neither libuv nor its abort ever sees the caller's descriptor, and no flag of it
 *   is touched.
 *
 * libuv switches a polled descriptor to O_NONBLOCK when it makes the handle (on its open file
 * description, which a child that inherited it shares too). epoll does not need that flag, so an
 * FdWaiter puts the descriptor's flags back at once: a descriptor the caller left blocking stays
 * blocking, and a later plain read() or write() behaves as the caller expects.
 */
import { koffi, lastErrno, libc, type PollHandle } from "../ffi/libc.ts";
import { check, Errno, SystemError } from "../libc/errno.ts";
import { fcntl, F_GETFL, F_SETFL, O_CLOEXEC } from "../libc/fcntl.ts";
import { fstat, S_IFBLK, S_IFDIR, S_IFMT, S_IFREG } from "../libc/sys/stat.ts";
import { close } from "../libc/unistd.ts";
import { abortReason } from "./timeouts.ts";

/** What to wait for: data to read (or end of file), or room to write (or no reader). */
export type Readiness = "readable" | "writable";

/** Options of `waitForFd`. */
export interface WaitOptions {
  /** Rejects with the signal's reason (an AbortError if it has none) when the signal aborts. */
  signal?: AbortSignal;
  /** Keeps the process alive while waiting (default true). */
  ref?: boolean;
}

/** Thrown by the waits, reads and writes of an `AsyncFd` that has been closed, pending ones included. */
export class ClosedDescriptorError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_IPC_DESCRIPTOR_CLOSED";
  /** The descriptor's number when it was open. */
  readonly fd: number;
  constructor(fd: number) {
    super(`descriptor ${fd} has been closed`);
    this.fd = fd;
  }
}

/**
 * Whether epoll can wait on `fd`: anything but a regular file, a directory or a block device, which
 * are always ready. (An eventfd's or a pidfd's anonymous inode has no file type at all.)
 */
export function isPollable(fd: number): boolean {
  const type = fstat(fd).mode & S_IFMT;
  return type !== S_IFREG && type !== S_IFDIR && type !== S_IFBLK;
}

// koffi 3.3 calls back with (status, events); its .d.ts declares the events alone (hence the casts
// to never below). status < 0 is libuv's UV_EBADF after an EPOLLERR (a pipe whose reader left, say),
// and libuv has then stopped the handle by itself.
type PollCallback = (status: number, events: { readable: boolean; writable: boolean }) => void;

/** koffi.node.poll, leaving the descriptor's flags as they were (see the module comment). */
function pollHandle(fd: number, readiness: { readable: boolean; writable: boolean }, callback: PollCallback): PollHandle {
  const flags = fcntl(fd, F_GETFL);
  try {
    return koffi.node.poll(fd, readiness, callback as never);
  } finally {
    fcntl(fd, F_SETFL, flags);
  }
}

const READABLE = 1;
const WRITABLE = 2;
const bit = (readiness: Readiness): number => (readiness === "readable" ? READABLE : WRITABLE);
const asOptions = (events: number): { readable: boolean; writable: boolean } => ({ readable: (events & READABLE) !== 0, writable: (events & WRITABLE) !== 0 });

/** The persistent waiter of each descriptor that has one (per thread: each has its own event loop). */
const waiters = new Map<number, FdWaiter>();

/**
 * Resolves when `fd` is readable (data or end of file) or writable (room, or the reader is gone),
 * at once if epoll cannot wait on it (a regular file). A descriptor owned by an `AsyncFd` is waited on
 * through its handle; any other is added for this wait to the thread's own epoll set (see the module
 * comment): libuv never sees it, so closing it, even with a wait pending, cannot upset the event loop.
 * A wait left pending on a closed descriptor may still wake for whatever descriptor gets its number
 * next (a spurious wake-up); abort it first.
 *
 * @see https://man7.org/linux/man-pages/man7/epoll.7.html
 */
export async function waitForFd(fd: number, readiness: Readiness, options: WaitOptions = {}): Promise<void> {
  await waitForReadiness(fd, readiness, options);
}

/** As `waitForFd`, resolving with false, at once, when epoll cannot wait on `fd` (it is always ready). */
export function waitForReadiness(fd: number, readiness: Readiness, options: WaitOptions = {}): Promise<boolean> {
  const waiter = waiters.get(fd);
  if (waiter === undefined) return (callersSet ??= new CallersSet()).wait(fd, bit(readiness), options);
  if (!waiter.pollable) return Promise.resolve(false);
  return waiter.attempt(readiness, ready, options).then(() => true);
}

/** What `FdWaiter.attempt` returns when the call would have blocked: the waiter waits again. */
export const WOULD_BLOCK = -1;

interface PendingWait {
  readonly bit: number;
  readonly ref: boolean;
  /** Runs when the descriptor is reported ready: a result, or WOULD_BLOCK to go on waiting. */
  readonly attempt: () => number;
  readonly resolve: (result: number) => void;
  readonly reject: (error: Error) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

const ready = (): number => 0;

/**
 * Every wait on one descriptor, through one libuv poll handle made at the first wait that needs it.
 *
 * The handle stays started after a readable wait ends: a reader that finds the pipe empty again
 * waits again at once, and restarting costs two epoll_ctl calls each time. It is stopped when an
 * event comes that nobody waits for (data that nobody is reading yet, say), and unref'd whenever
 * no wait is pending, so a started handle never keeps the process alive by itself. Writable waits
 * are dropped as soon as none is pending, since a pipe with room would report it on every turn.
 *
 * Must be closed before its descriptor (see the module comment).
 */
export class FdWaiter implements Disposable {
  /** The descriptor waited on. */
  readonly fd: number;
  #handle: PollHandle | null = null;
  /** What the handle is started for (READABLE | WRITABLE); 0 while stopped. */
  #events = 0;
  #refed = true;
  /** How many pending waits keep the process alive. */
  #refs = 0;
  #pollable: boolean | undefined;
  #closed = false;
  readonly #pending: PendingWait[] = [];
  readonly #onEvent: PollCallback = (status, events) => this.#dispatch(status, events);

  constructor(fd: number) {
    const existing = waiters.get(fd);
    if (existing !== undefined) throw new Error(`descriptor ${fd} is already waited on by an AsyncFd`);
    this.fd = fd;
    waiters.set(fd, this);
  }

  /** Whether epoll can wait on the descriptor (see `isPollable`), asked once. */
  get pollable(): boolean {
    this.#pollable ??= isPollable(this.fd);
    return this.#pollable;
  }

  /** Whether `close` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** As `waitForFd`, through this waiter's handle. Rejects with ClosedDescriptorError once closed. */
  async wait(readiness: Readiness, options: WaitOptions = {}): Promise<void> {
    if (this.pollable) await this.attempt(readiness, ready, options);
    else if (this.#closed) throw new ClosedDescriptorError(this.fd);
  }

  /**
   * Waits until the descriptor is reported ready, then runs `attempt` (a read or write that does not
   * block) right there in libuv's callback, and resolves with what it returns, or goes on waiting if
   * it returns WOULD_BLOCK (another reader took the data). What `attempt` throws rejects. One turn of
   * the event loop and one promise per wait, whoever waits. Only for a pollable descriptor.
   */
  attempt(readiness: Readiness, attempt: () => number, options: WaitOptions = {}): Promise<number> {
    if (this.#closed) return Promise.reject(new ClosedDescriptorError(this.fd));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<number>((resolve, reject) => {
      const wait: PendingWait = { bit: bit(readiness), ref: options.ref !== false, attempt, resolve, reject, signal, onAbort: null };
      try {
        this.#start(this.#events | wait.bit);
      } catch (error) {
        reject(error as Error);
        return;
      }
      this.#add(wait);
      if (signal !== undefined) {
        wait.onAbort = () => {
          this.#remove(wait);
          reject(abortReason(signal));
        };
        signal.addEventListener("abort", wait.onAbort, { once: true });
      }
    });
  }

  /**
   * Rejects the pending waits with ClosedDescriptorError and closes the handle: libuv forgets the
   * descriptor before this returns, so the descriptor may be closed next. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    waiters.delete(this.fd);
    this.#handle?.close();
    this.#handle = null;
    this.#events = 0;
    for (const wait of this.#pending.splice(0)) this.#settle(wait, new ClosedDescriptorError(this.fd));
  }

  /** Closes the waiter, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #start(events: number): void {
    if (events === this.#events) return;
    if (this.#handle === null) {
      this.#handle = pollHandle(this.fd, asOptions(events), this.#onEvent);
      this.#refed = true;
    } else if (events === 0) {
      this.#handle.stop();
    } else {
      this.#handle.start(asOptions(events), this.#onEvent as never);
    }
    this.#events = events;
  }

  #dispatch(status: number, events: { readable: boolean; writable: boolean }): void {
    if (status < 0) this.#events = 0;
    const fired = status < 0 ? READABLE | WRITABLE : (events.readable ? READABLE : 0) | (events.writable ? WRITABLE : 0);
    let unwanted = fired & this.#events;
    let stillWanted = 0;
    const pending = this.#pending;
    let kept = 0;
    for (let i = 0; i < pending.length; i++) {
      const wait = pending[i]!;
      if ((wait.bit & fired) !== 0) {
        unwanted &= ~wait.bit;
        let result: number;
        try {
          result = wait.attempt();
        } catch (error) {
          this.#settle(wait, error as Error);
          continue;
        }
        if (result !== WOULD_BLOCK) {
          this.#settle(wait, result);
          continue;
        }
      }
      pending[kept++] = wait;
      stillWanted |= wait.bit;
    }
    pending.length = kept;
    if (this.#closed) return;
    // libuv stops the handle after an error: started again only for the waits still pending.
    // Otherwise readable stays started (see the class comment), writable only while wanted.
    this.#start(status < 0 ? stillWanted : (this.#events & ~unwanted & READABLE) | (stillWanted & WRITABLE));
    this.#updateRef();
  }

  #add(wait: PendingWait): void {
    this.#pending.push(wait);
    if (wait.ref) this.#refs++;
    this.#updateRef();
  }

  #remove(wait: PendingWait): void {
    const index = this.#pending.indexOf(wait);
    if (index === -1) return;
    this.#pending.splice(index, 1);
    if (wait.ref) this.#refs--;
    this.#updateRef();
  }

  /** Ends a wait that has left #pending: resolves it with a result or rejects it with an error. */
  #settle(wait: PendingWait, outcome: number | Error): void {
    if (wait.ref) this.#refs--;
    if (wait.onAbort !== null) wait.signal!.removeEventListener("abort", wait.onAbort);
    if (typeof outcome === "number") wait.resolve(outcome);
    else wait.reject(outcome);
  }

  /** The handle keeps the process alive while a wait that asked for it (`ref`, the default) is pending. */
  #updateRef(): void {
    const wanted = this.#refs > 0;
    if (this.#handle === null || wanted === this.#refed) return;
    if (wanted) this.#handle.ref();
    else this.#handle.unref();
    this.#refed = wanted;
  }
}

const epoll_create1_c = libc.func("int epoll_create1(int flags)");
const epoll_ctl_c = libc.func("int epoll_ctl(int epfd, int op, int fd, void *event)");
const epoll_wait_c = libc.func("int epoll_wait(int epfd, void *events, int maxevents, int timeout)");
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_MOD = 3;
const EPOLLIN = 0x001;
const EPOLLOUT = 0x004;
const EPOLLERR = 0x008;
const EPOLLHUP = 0x010;
const EPOLLONESHOT = 1 << 30;
// struct epoll_event { uint32_t events; uint64_t data; } is packed on x86_64 alone.
const EVENT_BYTES = process.arch === "x64" ? 12 : 16;
const DATA_OFFSET = process.arch === "x64" ? 4 : 8;
const MAX_EVENTS = 64;
const ENOENT = Errno.ENOENT!;
const EPERM = Errno.EPERM!;
const EINTR = Errno.EINTR!;

let callersSet: CallersSet | undefined;

/**
 * This thread's epoll set for descriptors their callers keep. Each descriptor is in it with
 * EPOLLONESHOT: armed for one wait (EPOLL_CTL_MOD, or ADD the first time), disarmed by the kernel
 * when it reports. A descriptor closed with its entry armed is dropped by the kernel once no process
 * holds the file; until then the entry reports at most once more, under a number that may be
 * another descriptor's by then: its waits try their read, find nothing, and wait again. libuv polls
 * the set through one handle, unref'd while no wait keeps the process alive.
 */
class CallersSet {
  readonly #epfd: number;
  readonly #handle: PollHandle;
  readonly #pending = new Map<number, PendingWait[]>();
  #refs = 0;
  #refed = false;
  readonly #event = new DataView(new ArrayBuffer(EVENT_BYTES));
  readonly #events = new DataView(new ArrayBuffer(EVENT_BYTES * MAX_EVENTS));

  constructor() {
    const epfd = check(epoll_create1_c(O_CLOEXEC) as number, "epoll_create1");
    const handle = koffi.node.poll(epfd, { readable: true }, () => this.#dispatch());
    handle.unref();
    // A Worker's end would otherwise leave the set open in the process, one descriptor per Worker.
    process.once("exit", () => {
      handle.close();
      close(epfd);
    });
    this.#epfd = epfd;
    this.#handle = handle;
  }

  wait(fd: number, bit: number, options: WaitOptions): Promise<boolean> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<boolean>((resolve, reject) => {
      const waits = this.#pending.get(fd) ?? [];
      try {
        if (
          !this.#arm(
            fd,
            waits.reduce((events, wait) => events | wait.bit, bit),
          )
        ) {
          resolve(false);
          return;
        }
      } catch (error) {
        reject(error as Error);
        return;
      }
      const wait: PendingWait = { bit, ref: options.ref !== false, attempt: ready, resolve: () => resolve(true), reject, signal, onAbort: null };
      waits.push(wait);
      this.#pending.set(fd, waits);
      if (wait.ref) this.#refs++;
      if (signal !== undefined) {
        // The entry stays armed: it reports once more at most, to nobody.
        wait.onAbort = () => {
          this.#drop(fd, wait);
          reject(abortReason(signal));
          this.#updateRef();
        };
        signal.addEventListener("abort", wait.onAbort, { once: true });
      }
      this.#updateRef();
    });
  }

  /** Arms `fd` for `bits`; false if epoll cannot wait on it (a regular file or a directory). */
  #arm(fd: number, bits: number): boolean {
    this.#event.setUint32(0, ((bits & READABLE) !== 0 ? EPOLLIN : 0) | ((bits & WRITABLE) !== 0 ? EPOLLOUT : 0) | EPOLLONESHOT, true);
    this.#event.setInt32(DATA_OFFSET, fd, true);
    if ((epoll_ctl_c(this.#epfd, EPOLL_CTL_MOD, fd, this.#event) as number) === 0) return true;
    let errno = lastErrno();
    if (errno === ENOENT) {
      if ((epoll_ctl_c(this.#epfd, EPOLL_CTL_ADD, fd, this.#event) as number) === 0) return true;
      errno = lastErrno();
    }
    if (errno === EPERM) return false;
    throw new SystemError(errno, "epoll_ctl");
  }

  #dispatch(): void {
    for (;;) {
      const count = epoll_wait_c(this.#epfd, this.#events, MAX_EVENTS, 0) as number;
      if (count < 0 && lastErrno() === EINTR) continue;
      for (let i = 0; i < count; i++) {
        const revents = this.#events.getUint32(i * EVENT_BYTES, true);
        const fd = this.#events.getInt32(i * EVENT_BYTES + DATA_OFFSET, true);
        const fired = ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) !== 0 ? READABLE : 0) | ((revents & (EPOLLOUT | EPOLLERR)) !== 0 ? WRITABLE : 0);
        const left = (this.#pending.get(fd) ?? []).filter((wait) => {
          if ((wait.bit & fired) === 0) return true;
          this.#settle(wait);
          return false;
        });
        if (left.length === 0) {
          this.#pending.delete(fd);
          continue;
        }
        this.#pending.set(fd, left);
        // The report disarmed the entry for every wait: the others are armed again.
        try {
          this.#arm(
            fd,
            left.reduce((events, wait) => events | wait.bit, 0),
          );
        } catch (error) {
          this.#pending.delete(fd);
          for (const wait of left) this.#settle(wait, error as Error);
        }
      }
      if (count < MAX_EVENTS) break;
    }
    this.#updateRef();
  }

  #drop(fd: number, wait: PendingWait): void {
    const waits = this.#pending.get(fd);
    const index = waits?.indexOf(wait) ?? -1;
    if (index === -1) return;
    waits!.splice(index, 1);
    if (waits!.length === 0) this.#pending.delete(fd);
    if (wait.ref) this.#refs--;
  }

  #settle(wait: PendingWait, error?: Error): void {
    if (wait.ref) this.#refs--;
    if (wait.onAbort !== null) wait.signal!.removeEventListener("abort", wait.onAbort);
    if (error === undefined) wait.resolve(0);
    else wait.reject(error);
  }

  #updateRef(): void {
    const wanted = this.#refs > 0;
    if (wanted === this.#refed) return;
    if (wanted) this.#handle.ref();
    else this.#handle.unref();
    this.#refed = wanted;
  }
}
