/**
 * <poll.h>: poll(2) and `struct pollfd`. `readSync` (ipc/pipe_io.ts) sleeps in it before it reads:
 * the kernel restarts a read(2) that a signal handler interrupted (Node's handlers have SA_RESTART),
 * but never poll, which fails with EINTR instead (signal(7)), so the wait can end on a signal.
 */
import { checkInt16, checkInt32, checkInteger } from "../ffi/checks.ts";
import { libc } from "../ffi/libc.ts";
import { defineStruct } from "../ffi/struct.ts";
import { check } from "./errno.ts";

/** There is data to read (or end of file on a pipe). */
export const POLLIN = 0x001;
/** There is urgent data to read. */
export const POLLPRI = 0x002;
/** Writing would not block. */
export const POLLOUT = 0x004;
/** An error condition (reported whether asked for or not). */
export const POLLERR = 0x008;
/** Hang-up: on a pipe, every writer has closed (reported whether asked for or not). */
export const POLLHUP = 0x010;
/** The descriptor is not open (reported whether asked for or not). */
export const POLLNVAL = 0x020;

/** `struct pollfd`: one descriptor to watch, what to watch it for, and what happened. */
export const Pollfd = defineStruct("pollfd", {
  fd: "int32",
  events: "int16",
  revents: "int16",
});

const poll_c = libc.func("int poll(void *fds, unsigned long nfds, int timeout)");

/** One descriptor and the events poll is to watch it for. */
export interface PollRequest {
  /** The descriptor (a negative one is skipped, as in C). */
  fd: number;
  /** POLLIN, POLLOUT… */
  events: number;
}

/**
 * poll(2): waits until one of `fds` has one of its events (POLLERR, POLLHUP and POLLNVAL count
 * always), for at most `timeoutMs` (-1: no limit; 0: only looks). Returns each descriptor's revents,
 * in order; all are 0 at the timeout. A signal handler interrupting it throws EINTR: poll is never
 * restarted, whatever SA_RESTART says.
 *
 * @see https://man7.org/linux/man-pages/man2/poll.2.html
 */
export function poll(fds: readonly PollRequest[], timeoutMs: number): number[] {
  checkInteger(timeoutMs, "timeoutMs", -1, 0x7fffffff);
  const buffer = new Uint8Array(fds.length * Pollfd.size);
  fds.forEach(({ fd, events }, index) => {
    const entry = Pollfd.at(buffer, index * Pollfd.size);
    entry.fd = checkInt32(fd, "fd");
    entry.events = checkInt16(events, "events");
  });
  check(poll_c(buffer, fds.length, timeoutMs) as number, "poll");
  return fds.map((_, index) => Pollfd.at(buffer, index * Pollfd.size).revents);
}

// The one pollfd of `pollOne`: calls are synchronous, so one buffer serves them all.
const single = new Uint8Array(Pollfd.size);
const singleEntry = Pollfd.at(single);

/**
 * poll(2) on one descriptor, without allocating: its revents (0 at the timeout). For the hot paths
 * that look whether a descriptor is ready before they read or write.
 *
 * @see https://man7.org/linux/man-pages/man2/poll.2.html
 */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  singleEntry.fd = fd;
  singleEntry.events = events;
  singleEntry.revents = 0;
  check(poll_c(single, 1, timeoutMs) as number, "poll");
  return singleEntry.revents;
}
