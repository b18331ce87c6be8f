/**
 * POSIX message queues as an object: `PosixMessageQueue` (create-exclusive, open, send and receive
 * with priorities, sync and async, attributes, idempotent `close()` with `using`, `unlink()`). The
 * calls underneath are in libc/mqueue.ts.
 *
 * On Linux a queue's descriptor is pollable, so every wait here is a wait on a descriptor: the object
 * opens its own description with O_NONBLOCK, tries each send or receive at once, and when the queue
 * is full or empty it sleeps in poll(2) (the sync forms, which answer signals as every sync wait
 * does: ipc/interrupts.ts) or on the thread's epoll set through `waitForFd` (the async forms: no
 * thread at all, the event loop free). A message is never lost to a cancelled async receive: the
 * wait only watches for readiness, and the receive itself is one non-blocking mq_receive.
 */
import { checkInteger, checkUint32 } from "../ffi/checks.ts";
import { Errno, SystemError, isSystemError } from "../libc/errno.ts";
import { O_CLOEXEC, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from "../libc/fcntl.ts";
import { mq_close, mq_getattr, mq_open, mq_receive, mq_send, mq_unlink } from "../libc/mqueue.ts";
import { POLLIN, POLLOUT, poll } from "../libc/poll.ts";
import { Deadline } from "../libc/time.ts";
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import { ClosedDescriptorError, waitForFd } from "./poll.ts";
import { WaitTimeoutError, abortReason } from "./timeouts.ts";

/** Options of `PosixMessageQueue.create` and `openOrCreate`. */
export interface PosixQueueCreateOptions {
  /** The most messages it holds (mq_maxmsg; default /proc/sys/fs/mqueue/msg_default, 10). */
  maxMessages?: number;
  /** The largest message in bytes (mq_msgsize; default /proc/sys/fs/mqueue/msgsize_default, 8192). */
  messageSize?: number;
  /** Permission bits, less the umask (default 0o600). */
  mode?: number;
}

/** Which directions a `PosixMessageQueue` is opened for (default both). */
export type PosixQueueAccess = "read" | "write" | "readwrite";

/** Options of `PosixMessageQueue.send` and `sendAsync`. */
export interface PosixSendOptions {
  /** 0 to 32767; higher priorities are received first (default 0). */
  priority?: number;
  /** false: throw EAGAIN at once when the queue is full (default true: wait for room). */
  wait?: boolean;
  /** Give up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** Options of `PosixMessageQueue.receive` and `receiveAsync`. */
export interface PosixReceiveOptions {
  /** false: throw EAGAIN at once when the queue is empty (default true: wait for a message). */
  wait?: boolean;
  /** Give up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** What an async wait also takes: an AbortSignal, which rejects it at once with its reason. */
export interface AsyncWaitOptions {
  /** Rejects the wait at once with the signal's reason; nothing is sent or taken. */
  signal?: AbortSignal;
}

/** A message received from a POSIX queue. */
export interface PosixMessage {
  /** The message's bytes (a copy, the caller's to keep). */
  bytes: Uint8Array;
  /** Its priority. */
  priority: number;
}

/** A queue's attributes, as `attributes()` reads them. */
export interface PosixQueueAttributes {
  /** The most messages it holds (mq_maxmsg). */
  maxMessages: number;
  /** The largest message in bytes (mq_msgsize). */
  messageSize: number;
  /** How many messages it holds now (mq_curmsgs). */
  currentMessages: number;
}

const accessFlags: Record<PosixQueueAccess, number> = { read: O_RDONLY, write: O_WRONLY, readwrite: O_RDWR };

/** An open POSIX message queue. The queue stays after `close()` until it is unlinked. */
export class PosixMessageQueue implements Disposable {
  /** The queue's name, "/something". */
  readonly name: string;
  /** The largest message in bytes: every receive takes a buffer of this size. */
  readonly messageSize: number;
  #fd: number;
  readonly #buffer: Uint8Array;
  // Ends the async waits still pending when the queue is closed, before its descriptor goes.
  readonly #closing = new AbortController();

  private constructor(name: string, fd: number) {
    this.name = name;
    this.#fd = fd;
    try {
      this.messageSize = mq_getattr(fd).mq_msgsize;
    } catch (error) {
      mq_close(fd);
      throw error;
    }
    this.#buffer = new Uint8Array(this.messageSize);
  }

  /**
   * Creates the queue `name` ("/something"); EEXIST if it exists (O_CREAT|O_EXCL). Sizes past
   * /proc/sys/fs/mqueue/msg_max or msgsize_max fail with EINVAL naming the limit.
   */
  static create(name: string, options: PosixQueueCreateOptions = {}): PosixMessageQueue {
    return PosixMessageQueue.#open(name, O_RDWR | O_CREAT | O_EXCL, options);
  }

  /** Opens the queue `name`, or creates it as `create` does. */
  static openOrCreate(name: string, options: PosixQueueCreateOptions = {}): PosixMessageQueue {
    return PosixMessageQueue.#open(name, O_RDWR | O_CREAT, options);
  }

  /** Opens the existing queue `name` for `access` (default "readwrite"); ENOENT if there is none. */
  static open(name: string, access: PosixQueueAccess = "readwrite"): PosixMessageQueue {
    return PosixMessageQueue.#open(name, accessFlags[access], {});
  }

  static #open(name: string, flags: number, options: PosixQueueCreateOptions): PosixMessageQueue {
    const { maxMessages, messageSize, mode = 0o600 } = options;
    let attr = null;
    if (maxMessages !== undefined || messageSize !== undefined) {
      // The kernel takes both or neither: the one not given gets its usual default.
      attr = {
        mq_maxmsg: checkInteger(maxMessages ?? 10, "maxMessages", 1, Number.MAX_SAFE_INTEGER),
        mq_msgsize: checkInteger(messageSize ?? 8192, "messageSize", 1, Number.MAX_SAFE_INTEGER),
      };
    }
    return new PosixMessageQueue(name, mq_open(name, flags | O_NONBLOCK | O_CLOEXEC, mode, attr));
  }

  /** The descriptor (O_NONBLOCK), for poll or epoll; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** mq_getattr: capacity, message size and how many messages are queued now. */
  attributes(): PosixQueueAttributes {
    const attr = mq_getattr(this.#descriptor());
    return { maxMessages: attr.mq_maxmsg, messageSize: attr.mq_msgsize, currentMessages: attr.mq_curmsgs };
  }

  /**
   * mq_send: queues `bytes` with `options.priority`, waiting for room while the queue is full
   * (blocking the thread; see sendAsync). EMSGSIZE when `bytes` passes the message size, EAGAIN when
   * full and `wait` is false, WaitTimeoutError after `timeoutMs`; EINTR, having sent nothing, when
   * SIGINT, SIGTERM or SIGHUP comes to a program that listens for them (ipc/interrupts.ts).
   */
  send(bytes: Uint8Array, options: PosixSendOptions = {}): void {
    const priority = checkUint32(options.priority ?? 0, "priority");
    const deadline = new Deadline(options.timeoutMs);
    while (!this.#trySend(bytes, priority)) {
      if (options.wait === false) throw this.#wouldBlock("mq_send");
      this.#sleep(POLLOUT, deadline, options.timeoutMs, "mq_send");
    }
  }

  /**
   * mq_receive: the oldest message of the highest priority, waiting while the queue is empty
   * (blocking the thread; see receiveAsync). EAGAIN when empty and `wait` is false,
   * WaitTimeoutError after `timeoutMs`, EINTR as `send`.
   */
  receive(options: PosixReceiveOptions = {}): PosixMessage {
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      const message = this.#tryReceive();
      if (message !== null) return message;
      if (options.wait === false) throw this.#wouldBlock("mq_receive");
      this.#sleep(POLLIN, deadline, options.timeoutMs, "mq_receive");
    }
  }

  /**
   * `send` that keeps the event loop free while the queue is full: it waits on the descriptor through
   * the thread's epoll set, holding no thread. An abort or the timeout rejects at once, nothing sent.
   */
  async sendAsync(bytes: Uint8Array, options: PosixSendOptions & AsyncWaitOptions = {}): Promise<void> {
    const priority = checkUint32(options.priority ?? 0, "priority");
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (this.#trySend(bytes, priority)) return;
    if (options.wait === false) throw this.#wouldBlock("mq_send");
    await this.#waitFor("writable", options, "mq_send", () => this.#trySend(bytes, priority) || null);
  }

  /**
   * `receive` that keeps the event loop free while the queue is empty (no thread held). An abort or
   * the timeout rejects at once, and no message is taken: the receive is one non-blocking
   * mq_receive, made only once the descriptor is readable.
   */
  async receiveAsync(options: PosixReceiveOptions & AsyncWaitOptions = {}): Promise<PosixMessage> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const message = this.#tryReceive();
    if (message !== null) return message;
    if (options.wait === false) throw this.#wouldBlock("mq_receive");
    return this.#waitFor("readable", options, "mq_receive", () => this.#tryReceive());
  }

  /** mq_close. Idempotent; ends pending async waits with a ClosedDescriptorError first. The queue stays. */
  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#closing.abort(new ClosedDescriptorError(fd));
    mq_close(fd);
  }

  /** Closes, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * mq_unlink: removes the queue's name; the queue goes once every descriptor is closed. Idempotent:
   * a name already gone (unlinked by anyone) is not an error.
   */
  unlink(): void {
    try {
      mq_unlink(this.name);
    } catch (error) {
      if (!isSystemError(error, "ENOENT")) throw error;
    }
  }

  #descriptor(): number {
    if (this.#fd === -1) throw new ClosedDescriptorError(-1);
    return this.#fd;
  }

  /** The EAGAIN of a queue full or empty when asked not to wait. */
  #wouldBlock(syscall: string): SystemError {
    return new SystemError(Errno.EAGAIN!, syscall, { path: this.name });
  }

  #trySend(bytes: Uint8Array, priority: number): boolean {
    try {
      mq_send(this.#descriptor(), bytes, priority);
      return true;
    } catch (error) {
      if (isSystemError(error, "EAGAIN")) return false;
      throw error;
    }
  }

  #tryReceive(): PosixMessage | null {
    try {
      const { length, priority } = mq_receive(this.#descriptor(), this.#buffer);
      return { bytes: this.#buffer.slice(0, length), priority };
    } catch (error) {
      if (isSystemError(error, "EAGAIN")) return null;
      throw error;
    }
  }

  /** Sleeps in poll(2) until the descriptor has `events`, or throws at the deadline. */
  #sleep(events: number, deadline: Deadline, timeoutMs: number | undefined, what: string): void {
    using _sleeping = interruptibleSleep();
    for (;;) {
      if (deadline.expired) throw new WaitTimeoutError(`${what} '${this.name}'`, timeoutMs);
      const remaining = deadline.remaining();
      try {
        poll([{ fd: this.#fd, events }], remaining === Infinity ? -1 : Math.ceil(remaining));
        return;
      } catch (error) {
        if (!isSystemError(error, "EINTR")) throw error;
        interrupted(error);
      }
    }
  }

  async #waitFor<T>(readiness: "readable" | "writable", options: AsyncWaitOptions & { timeoutMs?: number }, what: string, attempt: () => T | null): Promise<T> {
    const signals = [this.#closing.signal];
    if (options.signal !== undefined) signals.push(options.signal);
    if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs));
    const signal = AbortSignal.any(signals);
    for (;;) {
      try {
        await waitForFd(this.#descriptor(), readiness, { signal });
      } catch (error) {
        if (signal.aborted && signal.reason instanceof DOMException && signal.reason.name === "TimeoutError") throw new WaitTimeoutError(`${what} '${this.name}'`, options.timeoutMs);
        throw error;
      }
      const result = attempt();
      if (result !== null) return result;
    }
  }
}
