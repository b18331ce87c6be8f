/**
 * <mqueue.h>: POSIX message queues (mq_open, mq_send, mq_receive, their timed forms, mq_getattr,
 * mq_setattr, mq_notify, mq_unlink, mq_close) and `struct mq_attr`. The object over them,
 * `PosixMessageQueue`, is in ipc/posix_message_queue.ts.
 *
 * glibc has had these in libc.so.6 since 2.34; before, they were in librt.so.1, which this module
 * does not load (core needs glibc 2.34 or later for them). On Linux an `mqd_t` is a descriptor: epoll
 * and poll(2) report a queue readable when it holds a message and writable when it has room, which
 * is how the object layer waits without a thread. A queue lives in the kernel until it is unlinked
 * and the last descriptor closed; mounted (`mount -t mqueue none /dev/mqueue`), they show as files.
 *
 * mq_receive, mq_send and their timed forms are restarted after a handler installed with
 * SA_RESTART, as libuv's are (signal(7)): the object layer's sync forms sleep in poll(2) instead.
 */
import { checkFd, checkInt32, checkInt64, checkPath, checkUint32, invalidType } from "../ffi/checks.ts";
import { libc, mode_t } from "../ffi/libc.ts";
import { defineStruct } from "../ffi/struct.ts";
import { Errno, check, errnoError } from "./errno.ts";
import { limitError, procLimit } from "./proc_limits.ts";
import { SIGEV_NONE, SIGEV_SIGNAL, Sigevent } from "./signal.ts";
import { Timespec, type TimespecValue } from "./time.ts";

/** `struct mq_attr`: a queue's flags (O_NONBLOCK), capacity, message size and current count. */
export const MqAttr = defineStruct("mq_attr", {
  mq_flags: "int64",
  mq_maxmsg: "int64",
  mq_msgsize: "int64",
  mq_curmsgs: "int64",
  __pad: { char: 32 },
});

/** `struct mq_attr` as a plain object. */
export interface MqAttrValue {
  /** 0 or O_NONBLOCK: the open description's flag (only this one mq_setattr changes). */
  mq_flags: number;
  /** The most messages the queue holds. */
  mq_maxmsg: number;
  /** The largest message, in bytes. */
  mq_msgsize: number;
  /** How many messages it holds now. */
  mq_curmsgs: number;
}

/** A notification that mq_notify can register from JavaScript (`Sigevent` and the SIGEV_ constants are in libc/signal). */
export type MqNotification = { notify: typeof SIGEV_NONE } | { notify: typeof SIGEV_SIGNAL; signo: number; value?: number };

/** Where the kernel's limits on POSIX queues are set. */
export const MQ_LIMIT_FILES = {
  msg_max: "/proc/sys/fs/mqueue/msg_max",
  msgsize_max: "/proc/sys/fs/mqueue/msgsize_max",
} as const;

// mq_open is variadic: the mode and the attributes travel as real variadic arguments, with their
// C types, where mq_open's va_arg looks for them.
const mq_open_c = libc.func("int mq_open(const char *name, int oflag, ...)");
const mq_close_c = libc.func("int mq_close(int mqdes)");
const mq_unlink_c = libc.func("int mq_unlink(const char *name)");
const mq_send_c = libc.func("int mq_send(int mqdes, const void *msg_ptr, size_t msg_len, unsigned int msg_prio)");
const mq_receive_c = libc.func("ssize_t mq_receive(int mqdes, _Out_ void *msg_ptr, size_t msg_len, _Out_ unsigned int *msg_prio)");
const mq_timedsend_c = libc.func(`int mq_timedsend(int mqdes, const void *msg_ptr, size_t msg_len, unsigned int msg_prio, const ${Timespec.name} *abs_timeout)`);
const mq_timedreceive_c = libc.func(`ssize_t mq_timedreceive(int mqdes, _Out_ void *msg_ptr, size_t msg_len, _Out_ unsigned int *msg_prio, const ${Timespec.name} *abs_timeout)`);
const mq_getattr_c = libc.func("int mq_getattr(int mqdes, _Out_ void *attr)");
const mq_setattr_c = libc.func("int mq_setattr(int mqdes, const void *newattr, _Out_ void *oldattr)");
const mq_notify_c = libc.func("int mq_notify(int mqdes, const void *sevp)");

/**
 * Checks a queue's name: a string without NUL bytes that starts with "/" and has no other "/"
 * (glibc would fail with a bare EINVAL, or ENOENT/EACCES for a second slash).
 */
export function checkQueueName(name: string): string {
  checkPath(name, "name");
  if (!name.startsWith("/") || name.length < 2 || name.indexOf("/", 1) !== -1) {
    throw Object.assign(new TypeError(`A POSIX message queue's name is "/" and a name without "/" in it, e.g. "/orders". Received '${name}'`), { code: "ERR_INVALID_ARG_VALUE" });
  }
  return name;
}

/** Reads a `struct mq_attr` from its bytes. */
function readAttr(buffer: Uint8Array): MqAttrValue {
  const { mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs } = MqAttr.read(buffer);
  return { mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs };
}

/** The bytes of a `struct mq_attr`. */
function attrBytes(attr: Partial<MqAttrValue>): Uint8Array {
  const buffer = new Uint8Array(MqAttr.size);
  const view = MqAttr.at(buffer);
  view.mq_flags = checkInt64(attr.mq_flags ?? 0, "mq_flags");
  view.mq_maxmsg = checkInt64(attr.mq_maxmsg ?? 0, "mq_maxmsg");
  view.mq_msgsize = checkInt64(attr.mq_msgsize ?? 0, "mq_msgsize");
  view.mq_curmsgs = checkInt64(attr.mq_curmsgs ?? 0, "mq_curmsgs");
  return buffer;
}

/**
 * mq_open(3): opens (with O_CREAT, creates) the queue `name` ("/something") and returns its
 * descriptor. `mode` and `attr` (its mq_maxmsg and mq_msgsize; null: the defaults of
 * /proc/sys/fs/mqueue/msg_default and msgsize_default) are used with O_CREAT. EINVAL from sizes past
 * the limits names the limit and its file.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_open.3.html
 */
export function mq_open(name: string, oflag: number, mode = 0o600, attr: Pick<MqAttrValue, "mq_maxmsg" | "mq_msgsize"> | null = null): number {
  checkQueueName(name);
  checkInt32(oflag, "oflag");
  checkUint32(mode, "mode");
  const attrBuffer = attr === null ? null : attrBytes(attr);
  const fd = mq_open_c(name, oflag, mode_t, mode, "void *", attrBuffer) as number;
  if (fd !== -1) return fd;
  const error = errnoError("mq_open", { path: name });
  if (error.errno === Errno.EINVAL && attr !== null) {
    const msgMax = procLimit(MQ_LIMIT_FILES.msg_max) ?? Infinity;
    if (attr.mq_maxmsg > msgMax) throw limitError(error.errno, "mq_open", { path: name }, "mq_maxmsg", attr.mq_maxmsg, MQ_LIMIT_FILES.msg_max);
    const sizeMax = procLimit(MQ_LIMIT_FILES.msgsize_max) ?? Infinity;
    if (attr.mq_msgsize > sizeMax) throw limitError(error.errno, "mq_open", { path: name }, "mq_msgsize", attr.mq_msgsize, MQ_LIMIT_FILES.msgsize_max);
  }
  throw error;
}

/**
 * mq_close(3): closes the descriptor; the queue stays until it is unlinked.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_close.3.html
 */
export function mq_close(mqdes: number): void {
  checkFd(mqdes, "mqdes");
  check(mq_close_c(mqdes) as number, "mq_close");
}

/**
 * mq_unlink(3): removes the name; the queue goes once no descriptor refers to it.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_unlink.3.html
 */
export function mq_unlink(name: string): void {
  checkQueueName(name);
  check(mq_unlink_c(name) as number, "mq_unlink", { path: name });
}

/**
 * mq_send(3): queues `bytes` with `priority` (0 to 32767 on Linux; higher comes out first). Throws
 * EAGAIN when the descriptor is O_NONBLOCK and the queue is full, EMSGSIZE when `bytes` is longer
 * than the queue's mq_msgsize.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_send.3.html
 */
export function mq_send(mqdes: number, bytes: Uint8Array, priority = 0): void {
  checkFd(mqdes, "mqdes");
  checkUint32(priority, "priority");
  check(mq_send_c(mqdes, bytes, bytes.byteLength, priority) as number, "mq_send");
}

/** What mq_receive returns: the message's length in the buffer, and its priority. */
export interface MqReceived {
  /** The message's length in bytes, at the start of the buffer. */
  length: number;
  /** The message's priority. */
  priority: number;
}

/**
 * mq_receive(3): takes the oldest message of the highest priority into `buffer`, which must hold
 * the queue's mq_msgsize bytes (EMSGSIZE otherwise, even for a short message). Throws EAGAIN when
 * the descriptor is O_NONBLOCK and the queue is empty.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_receive.3.html
 */
export function mq_receive(mqdes: number, buffer: Uint8Array): MqReceived {
  checkFd(mqdes, "mqdes");
  const priority = new Uint32Array(1);
  const length = Number(check(mq_receive_c(mqdes, buffer, buffer.byteLength, priority) as number | bigint, "mq_receive"));
  return { length, priority: priority[0]! };
}

/**
 * mq_timedsend(3): mq_send that fails with ETIMEDOUT at the CLOCK_REALTIME time `absTimeout`
 * (`deadlineTimespec(CLOCK_REALTIME, ms)` makes one).
 *
 * @see https://man7.org/linux/man-pages/man3/mq_timedsend.3.html
 */
export function mq_timedsend(mqdes: number, bytes: Uint8Array, priority: number, absTimeout: TimespecValue): void {
  checkFd(mqdes, "mqdes");
  checkUint32(priority, "priority");
  check(mq_timedsend_c(mqdes, bytes, bytes.byteLength, priority, absTimeout) as number, "mq_timedsend");
}

/**
 * mq_timedreceive(3): mq_receive that fails with ETIMEDOUT at the CLOCK_REALTIME time `absTimeout`.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_timedreceive.3.html
 */
export function mq_timedreceive(mqdes: number, buffer: Uint8Array, absTimeout: TimespecValue): MqReceived {
  checkFd(mqdes, "mqdes");
  const priority = new Uint32Array(1);
  const length = Number(check(mq_timedreceive_c(mqdes, buffer, buffer.byteLength, priority, absTimeout) as number | bigint, "mq_timedreceive"));
  return { length, priority: priority[0]! };
}

/**
 * mq_getattr(3): the queue's attributes and the descriptor's O_NONBLOCK.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_getattr.3.html
 */
export function mq_getattr(mqdes: number): MqAttrValue {
  checkFd(mqdes, "mqdes");
  const buffer = new Uint8Array(MqAttr.size);
  check(mq_getattr_c(mqdes, buffer) as number, "mq_getattr");
  return readAttr(buffer);
}

/**
 * mq_setattr(3): sets the descriptor's O_NONBLOCK (`mq_flags`; the other fields cannot change) and
 * returns the attributes it had.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_setattr.3.html
 */
export function mq_setattr(mqdes: number, attr: Pick<MqAttrValue, "mq_flags">): MqAttrValue {
  checkFd(mqdes, "mqdes");
  const old = new Uint8Array(MqAttr.size);
  check(mq_setattr_c(mqdes, attrBytes({ mq_flags: attr.mq_flags }), old) as number, "mq_setattr");
  return readAttr(old);
}

/**
 * mq_notify(3): asks to be told once when a message arrives on the empty queue and no process is
 * blocked receiving it; one process per queue may be registered, and the registration ends with
 * the notification. From JavaScript:
 * - `{ notify: SIGEV_SIGNAL, signo }`: the kernel sends `signo` to this process; listen for it with
 *   `process.on` (e.g. "SIGUSR1"), which runs on the event loop. The siginfo's value is not
 *   visible to Node's listeners.
 * - `{ notify: SIGEV_NONE }`: takes the registration without any notification.
 * - null: gives up the registration.
 * SIGEV_THREAD is not supported: glibc would call a C function on a new thread, and a JavaScript
 * function cannot run there. To wait for a message from the event loop, wait for the descriptor to
 * become readable instead (`waitForFd`), which is what `PosixMessageQueue.receiveAsync` does.
 *
 * @see https://man7.org/linux/man-pages/man3/mq_notify.3.html
 */
export function mq_notify(mqdes: number, notification: MqNotification | null): void {
  checkFd(mqdes, "mqdes");
  let event: Uint8Array | null = null;
  if (notification !== null) {
    event = new Uint8Array(Sigevent.size);
    const view = Sigevent.at(event);
    if (notification.notify === SIGEV_SIGNAL) {
      view.sigev_signo = checkInt32(notification.signo, "signo");
      view.sigev_value = checkInt64(notification.value ?? 0, "value");
    } else if (notification.notify !== SIGEV_NONE) {
      throw invalidType("notification.notify", "SIGEV_NONE or SIGEV_SIGNAL", (notification as { notify: unknown }).notify);
    }
    view.sigev_notify = notification.notify;
  }
  check(mq_notify_c(mqdes, event) as number, "mq_notify");
}
