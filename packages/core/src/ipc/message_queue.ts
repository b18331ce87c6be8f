/**
 * System V message queues as an object: `MessageQueue` (create-exclusive, open, send and receive by
 * type, sync and async, stat, remove). The calls underneath are in libc/sys/msg.ts.
 *
 * A queue outlives every process until it is removed (IPC_RMID); `ipcs -q` lists them. Receives
 * select by type as msgrcv does: 0 the first message, > 0 the first of that type (of any other with
 * `except`), < 0 the first of the lowest type up to its absolute value.
 *
 * How the waits work (details and why: WAITING.md):
 * - sync: a blocking msgrcv or msgsnd, which answers signals as every sync wait does
 *   (ipc/interrupts.ts); for a receive with `timeoutMs` (msgrcv has no timed form), a POSIX timer
 *   sends this thread a signal at the deadline, which ends msgrcv with EINTR.
 * - `receiveAsync`: a blocking-call waiter thread watches for a matching message without taking it, and the
 *   message is taken here with IPC_NOWAIT; an abort loses nothing.
 * - `sendAsync`: tries with IPC_NOWAIT on a timer, 1 ms up to 20 ms apart, until there is room: a
 *   send cannot be watched for without being made, and one made on another thread could not be
 *   undone after an abort.
 */
import { checkInt64, checkSize } from "../ffi/checks.ts";
import { Errno, SystemError, isSystemError } from "../libc/errno.ts";
import { procLimit } from "../libc/proc_limits.ts";
import { IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT } from "../libc/sys/ipc.ts";
import { gettid, installNoopHandler, pthread_sigmask, sigaddset, sigemptyset, sigeventForThread, SIG_SETMASK, SIG_UNBLOCK } from "../libc/signal.ts";
import { CLOCK_MONOTONIC, Deadline, timer_create, timer_delete, timer_settime } from "../libc/time.ts";
import { MSGBUF_HEADER_SIZE, MSG_EXCEPT, MSG_NOERROR, MsqidDs, msgbuf, msgbufType, msgctl, msgget, msgrcv, msgsnd, msgStat } from "../libc/sys/msg.ts";
import { interrupted, interruptibleSleep } from "./interrupts.ts";
import { messageArrival, wakeSignal } from "./blocking_waiter.ts";
import { WaitTimeoutError, abortReason, retryWithBackoff } from "./timeouts.ts";

/** Where the kernel's limits on System V queues are set. */
export const MSG_LIMIT_FILES = {
  msgmax: "/proc/sys/kernel/msgmax",
  msgmnb: "/proc/sys/kernel/msgmnb",
} as const;

/** Options of `MessageQueue.send` and `sendAsync`. */
export interface MessageSendOptions {
  /** The message's type, > 0 (default 1). */
  type?: number;
  /** false: throw EAGAIN at once when the queue is full (default true: wait for room). */
  wait?: boolean;
}

/** Options of `MessageQueue.receive` and `receiveAsync`. */
export interface MessageReceiveOptions {
  /** Which message: 0 the first (default), > 0 the first of that type, < 0 the lowest type up to -type. */
  type?: number;
  /** With a type > 0: the first message of any other type (MSG_EXCEPT). */
  except?: boolean;
  /** The longest text taken (default /proc/sys/kernel/msgmax, the longest a message can be, as read on the object's first receive). */
  maxBytes?: number;
  /** Cut a longer message to maxBytes (MSG_NOERROR) instead of failing with E2BIG (default false). */
  truncate?: boolean;
  /** false: throw ENOMSG at once when no message matches (default true: wait for one). */
  wait?: boolean;
  /** Give up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

/** A message received: its text and its type. */
export interface Message {
  /** The message's text (its own copy). */
  bytes: Uint8Array;
  /** Its type. */
  type: number;
}

/** A queue's state and limits, as `stat()` reads them (msgctl IPC_STAT). */
export interface MessageQueueStat {
  /** The key it was created with. */
  key: number;
  /** Its permission bits. */
  mode: number;
  /** Owner's user and group ids. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Messages queued now (msg_qnum). */
  messages: number;
  /** Bytes of text queued now (msg_cbytes). */
  bytes: number;
  /** The most bytes of text it holds (msg_qbytes; /proc/sys/kernel/msgmnb when created). */
  maxBytes: number;
  /** The longest message the kernel accepts (/proc/sys/kernel/msgmax; null where /proc is hidden). */
  maxMessageSize: number | null;
  /** The pid of the last msgsnd (0 before the first). */
  lastSendPid: number;
  /** The pid of the last msgrcv (0 before the first). */
  lastReceivePid: number;
  /** When the last msgsnd, msgrcv and change happened, in seconds since the epoch (0: never). */
  lastSendTime: number;
  /** When the last msgrcv happened, in seconds since the epoch (0: never). */
  lastReceiveTime: number;
  /** When it was created or last changed by IPC_SET, in seconds since the epoch. */
  changeTime: number;
}

/** What an async wait also takes. */
export interface MessageAsyncOptions {
  /** Rejects the wait at once with the signal's reason: nothing sent, no message taken. */
  signal?: AbortSignal;
  /** Give up with a WaitTimeoutError after this many milliseconds (default: no limit). */
  timeoutMs?: number;
}

const encoder = new TextEncoder();

/** A System V message queue, by id. Removing it is explicit (`remove()`), as in C. */
export class MessageQueue {
  /** The queue's id, as `ipcs -q` shows it. */
  readonly id: number;
  #key: number | undefined;
  #removed = false;
  #msgmax: number | undefined;

  private constructor(id: number, key: number | undefined) {
    this.id = id;
    this.#key = key;
  }

  /** Creates a new queue; EEXIST if `key` already has one (IPC_CREAT|IPC_EXCL). */
  static create(key: number, mode = 0o600): MessageQueue {
    return new MessageQueue(msgget(key, IPC_CREAT | IPC_EXCL | (mode & 0o777)), key);
  }

  /** Opens the queue for `key`, or creates it (IPC_CREAT without IPC_EXCL). */
  static openOrCreate(key: number, mode = 0o600): MessageQueue {
    return new MessageQueue(msgget(key, IPC_CREAT | (mode & 0o777)), key);
  }

  /** Opens an existing queue; ENOENT if there is none. */
  static open(key: number): MessageQueue {
    return new MessageQueue(msgget(key, 0), key);
  }

  /** Wraps an id from elsewhere (e.g. `ipcs -q`). No system call is made until the object is used. */
  static fromId(id: number): MessageQueue {
    return new MessageQueue(id, undefined);
  }

  /** The key the queue was created with (read with IPC_STAT when the object came from an id). */
  get key(): number {
    this.#key ??= msgStat(this.id).msg_perm.__key;
    return this.#key;
  }

  /** msgctl(IPC_STAT): messages and bytes queued, limits, last pids and times. */
  stat(): MessageQueueStat {
    const ds = msgStat(this.id);
    return {
      key: ds.msg_perm.__key,
      mode: ds.msg_perm.mode & 0o777,
      uid: ds.msg_perm.uid,
      gid: ds.msg_perm.gid,
      messages: ds.msg_qnum,
      bytes: ds.__msg_cbytes,
      maxBytes: ds.msg_qbytes,
      maxMessageSize: procLimit(MSG_LIMIT_FILES.msgmax),
      lastSendPid: ds.msg_lspid,
      lastReceivePid: ds.msg_lrpid,
      lastSendTime: ds.msg_stime,
      lastReceiveTime: ds.msg_rtime,
      changeTime: ds.msg_ctime,
    };
  }

  /**
   * msgctl(IPC_SET) of msg_qbytes: the most bytes of text the queue holds. Raising it past
   * /proc/sys/kernel/msgmnb takes CAP_SYS_RESOURCE (EPERM otherwise).
   */
  setMaxBytes(bytes: number): void {
    checkSize(bytes, "bytes");
    const buffer = new Uint8Array(MsqidDs.size);
    msgctl(this.id, IPC_STAT, buffer);
    MsqidDs.at(buffer).msg_qbytes = bytes;
    msgctl(this.id, IPC_SET, buffer);
  }

  /**
   * msgsnd: queues `bytes` (a string is sent as UTF-8) with `options.type`, waiting while the queue
   * is full (blocking the thread; see sendAsync). EAGAIN when full and `wait` is false; EINVAL
   * naming the limit for a message past /proc/sys/kernel/msgmax, or longer than the queue holds at
   * all (msg_qbytes), which would wait forever; EIDRM when the queue is removed meanwhile; EINTR,
   * having sent nothing, when SIGINT, SIGTERM or SIGHUP comes to a program that listens for them.
   */
  send(bytes: Uint8Array | string, options: MessageSendOptions = {}): void {
    const message = this.#message(bytes, options.type);
    if (this.#trySend(message)) return;
    if (options.wait === false) throw this.#error(Errno.EAGAIN!, "msgsnd");
    using _sleeping = interruptibleSleep();
    for (;;) {
      try {
        msgsnd(this.id, message, message.length - MSGBUF_HEADER_SIZE);
        return;
      } catch (error) {
        if (!isSystemError(error, "EINTR")) throw error;
        interrupted(error);
      }
    }
  }

  /**
   * msgrcv: the message `options` select, waiting while there is none (blocking the thread; see
   * receiveAsync). ENOMSG when none and `wait` is false; E2BIG when it is longer than `maxBytes`
   * (it stays queued) unless `truncate`; EIDRM when the queue is removed meanwhile;
   * WaitTimeoutError after `timeoutMs`; EINTR as `send`.
   */
  receive(options: MessageReceiveOptions = {}): Message {
    const { type, flags, buffer, maxBytes } = this.#receiveArguments(options);
    const first = this.#tryReceive(buffer, maxBytes, type, flags);
    if (first !== null) return first;
    if (options.wait === false) throw this.#error(Errno.ENOMSG!, "msgrcv");
    using _sleeping = interruptibleSleep();
    if (options.timeoutMs === undefined) {
      for (;;) {
        try {
          return this.#received(buffer, msgrcv(this.id, buffer, maxBytes, type, flags));
        } catch (error) {
          if (!isSystemError(error, "EINTR")) throw error;
          interrupted(error);
        }
      }
    }
    // msgrcv has no timeout: a timer signals this thread at the deadline, and msgrcv fails with EINTR.
    const deadline = new Deadline(options.timeoutMs);
    const signo = wakeSignal();
    installNoopHandler(signo);
    const wake = sigemptyset();
    sigaddset(wake, signo);
    const mask = sigemptyset();
    pthread_sigmask(SIG_UNBLOCK, wake, mask);
    const timer = timer_create(CLOCK_MONOTONIC, sigeventForThread(signo, gettid()));
    try {
      for (;;) {
        const remaining = deadline.remaining();
        if (remaining === 0) throw new WaitTimeoutError(`msgrcv 'id ${this.id}'`, options.timeoutMs);
        timer_settime(timer, remaining);
        try {
          return this.#received(buffer, msgrcv(this.id, buffer, maxBytes, type, flags));
        } catch (error) {
          if (!isSystemError(error, "EINTR")) throw error;
          if (!deadline.expired) interrupted(error);
        }
      }
    } finally {
      timer_delete(timer);
      pthread_sigmask(SIG_SETMASK, mask);
    }
  }

  /**
   * `send` that keeps the event loop free while the queue is full, holding no thread: it tries again
   * on a timer, 1 ms up to RETRY_MAX_MS apart. An abort or the timeout rejects at once, nothing sent.
   */
  async sendAsync(bytes: Uint8Array | string, options: MessageSendOptions & MessageAsyncOptions = {}): Promise<void> {
    const message = this.#message(bytes, options.type);
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (this.#trySend(message)) return;
    if (options.wait === false) throw this.#error(Errno.EAGAIN!, "msgsnd");
    const sent = await retryWithBackoff(() => this.#trySend(message, true) || undefined, options);
    if (sent === undefined) throw new WaitTimeoutError(`msgsnd 'id ${this.id}'`, options.timeoutMs);
  }

  /**
   * `receive` that keeps the event loop free while no message matches, holding none of libuv's
   * threads: a blocking-call waiter thread watches the queue, and the message is taken here. An abort or
   * the timeout rejects at once, and no message is lost (see ipc/blocking_waiter.ts). A message that
   * is there costs one msgrcv, as the sync form.
   */
  async receiveAsync(options: MessageReceiveOptions & MessageAsyncOptions = {}): Promise<Message> {
    const { type, flags, buffer, maxBytes } = this.#receiveArguments(options);
    if (options.signal?.aborted) throw abortReason(options.signal);
    const first = this.#tryReceive(buffer, maxBytes, type, flags);
    if (first !== null) return first;
    if (options.wait === false) throw this.#error(Errno.ENOMSG!, "msgrcv");
    const deadline = new Deadline(options.timeoutMs);
    for (;;) {
      const timeoutMs = options.timeoutMs === undefined ? undefined : deadline.remaining();
      let arrival: Awaited<ReturnType<typeof messageArrival>>;
      try {
        arrival = await messageArrival(this.id, type, flags, { timeoutMs, signal: options.signal });
      } catch (error) {
        this.#removedMeanwhile(error, "msgrcv");
        throw error;
      }
      if (arrival === false) throw new WaitTimeoutError(`msgrcv 'id ${this.id}'`, options.timeoutMs);
      if (arrival.taken) return { bytes: new Uint8Array(0), type: arrival.type };
      // Another receiver may have taken it first: then wait again.
      const message = this.#tryReceive(buffer, maxBytes, type, flags, true);
      if (message !== null) return message;
    }
  }

  /**
   * msgctl(IPC_RMID): the queue and its messages go at once, and blocked senders and receivers
   * fail with EIDRM. Idempotent: a queue already removed (by anyone, e.g. `ipcrm`) is not an error.
   */
  remove(): void {
    if (this.#removed) return;
    try {
      msgctl(this.id, IPC_RMID);
    } catch (error) {
      if (!(error instanceof SystemError && (error.code === "EINVAL" || error.code === "EIDRM"))) throw error;
    }
    this.#removed = true;
  }

  #message(bytes: Uint8Array | string, type = 1): Uint8Array {
    checkInt64(type, "type");
    if (type <= 0) throw new RangeError(`a message's type must be > 0, not ${type}`);
    return msgbuf(type, typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  }

  #receiveArguments(options: MessageReceiveOptions): { type: number; flags: number; buffer: Uint8Array; maxBytes: number } {
    const type = checkInt64(options.type ?? 0, "type");
    const maxBytes = checkSize(options.maxBytes ?? this.#longestMessage(), "maxBytes");
    const flags = (options.except ? MSG_EXCEPT : 0) | (options.truncate ? MSG_NOERROR : 0);
    return { type, flags, buffer: new Uint8Array(MSGBUF_HEADER_SIZE + maxBytes), maxBytes };
  }

  /**
   * /proc/sys/kernel/msgmax (8192 where /proc is hidden), read on the first receive without maxBytes
   * and kept: reading the file each time cost more than the receive itself.
   */
  #longestMessage(): number {
    this.#msgmax ??= procLimit(MSG_LIMIT_FILES.msgmax) ?? 8192;
    return this.#msgmax;
  }

  #received(buffer: Uint8Array, length: number): Message {
    return { bytes: buffer.slice(MSGBUF_HEADER_SIZE, MSGBUF_HEADER_SIZE + length), type: msgbufType(buffer) };
  }

  /** One msgsnd with IPC_NOWAIT: false when the queue is full. `waited`: the queue was there before. */
  #trySend(message: Uint8Array, waited = false): boolean {
    const size = message.length - MSGBUF_HEADER_SIZE;
    try {
      msgsnd(this.id, message, size, IPC_NOWAIT);
      return true;
    } catch (error) {
      if (waited) this.#removedMeanwhile(error, "msgsnd");
      if (!isSystemError(error, "EAGAIN")) throw error;
    }
    // A message longer than the queue holds would wait forever: say which limit it passes. (A sender
    // allowed to write but not to read cannot IPC_STAT: it waits, as in C.)
    let qbytes: number;
    try {
      qbytes = msgStat(this.id).msg_qbytes;
    } catch (error) {
      if (isSystemError(error, "EACCES")) return false;
      throw error;
    }
    if (size > qbytes) {
      const note = `the message's size ${size} is more than the queue's msg_qbytes = ${qbytes}, set by IPC_SET or from ${MSG_LIMIT_FILES.msgmnb}`;
      throw new SystemError(Errno.EINVAL!, "msgsnd", { path: `id ${this.id}`, note });
    }
    return false;
  }

  /** One msgrcv with IPC_NOWAIT: null when no message matches. */
  #tryReceive(buffer: Uint8Array, maxBytes: number, type: number, flags: number, waited = false): Message | null {
    try {
      return this.#received(buffer, msgrcv(this.id, buffer, maxBytes, type, flags | IPC_NOWAIT));
    } catch (error) {
      if (waited) this.#removedMeanwhile(error, "msgrcv");
      if (isSystemError(error, "ENOMSG")) return null;
      throw error;
    }
  }

  /**
   * A queue removed between two looks of a wait is gone (EINVAL) rather than removed under a blocked
   * call (EIDRM): both mean the same to the waiter, which is told EIDRM as a blocked call would be.
   */
  #removedMeanwhile(error: unknown, syscall: string): void {
    if (isSystemError(error, "EINVAL")) throw this.#error(Errno.EIDRM!, syscall);
  }

  #error(errno: number, syscall: string): SystemError {
    return new SystemError(errno, syscall, { path: `id ${this.id}` });
  }
}
