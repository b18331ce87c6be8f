/**
 * The body of one word-waiter thread (see word_waiter.ts and WAITING.md): it sleeps in
 * futex_waitv(2) on up to 127 words for the thread that started it, plus its control word, and
 * reports which words were woken or had already changed. It runs synchronously from start to stop:
 * its own event loop never turns, so messages are pulled with receiveMessageOnPort. It never reads a watched word itself: the
 * memory may be unmapped at any moment by the other thread, and only the kernel can look at an
 * address without risking SIGSEGV (a futex call on an unmapped word fails with EFAULT).
 *
 * Messages in (the starting thread bumps the control word and wakes it after each):
 * `{ add: WatchedWord[], remove: id[] }` or `{ stop: true }`. Messages out: `{ fired: [id, outcome][] }`.
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { toAddress } from "../ffi/libc.ts";
import { FUTEX_32, FUTEX_PRIVATE_FLAG, FUTEX_WAITV_MAX, FutexWaitv, futexWaitOnce, futexWaitv } from "../libc/linux/futex.ts";
import { CLOCK_MONOTONIC, deadlineTimespec } from "../libc/time.ts";
import { APPLIED, CONTROL, TERMINATION_CHECK_MS, type WatchedWord, type WordOutcome, type WordWaiterThreadData } from "./word_waiter.ts";

const { port, control: controlBuffer } = workerData as WordWaiterThreadData;
const control = new Int32Array(controlBuffer);
const waiters = new Uint8Array(FUTEX_WAITV_MAX * FutexWaitv.size);
const slots = Array.from({ length: FUTEX_WAITV_MAX }, (_, index) => FutexWaitv.at(waiters.subarray(index * FutexWaitv.size)));
const watched = new Map<number, WatchedWord>();

FutexWaitv.setBigInt(slots[0]!, "uaddr", toAddress(control));
slots[0]!.flags = FUTEX_32;

for (;;) {
  const seen = Atomics.load(control, CONTROL);
  if (!drainMessages()) break;
  Atomics.store(control, APPLIED, seen);
  Atomics.notify(control, APPLIED);
  const ids = arm(seen);
  let result: ReturnType<typeof futexWaitv>;
  try {
    result = futexWaitv(waiters, ids.length + 1, deadlineTimespec(CLOCK_MONOTONIC, TERMINATION_CHECK_MS), CLOCK_MONOTONIC);
  } catch (error) {
    // EFAULT: a word's memory was unmapped under the wait. The probes below find which.
    const faulted = changedWords(ids);
    if (faulted.length === 0) throw error;
    report(faulted);
    continue;
  }
  if (typeof result === "number" && result > 0) report([[ids[result - 1]!, "woken"]]);
  else if (result === "not-equal") report(changedWords(ids));
}
port.close();

function report(fired: [number, WordOutcome][]): void {
  for (const [id] of fired) watched.delete(id);
  if (fired.length > 0) port.postMessage({ fired });
}

/** Applies the messages waiting on the port; false once told to stop. */
function drainMessages(): boolean {
  for (let message = receiveMessageOnPort(port); message !== undefined; message = receiveMessageOnPort(port)) {
    const { add = [], remove = [], stop = false } = message.message as { add?: WatchedWord[]; remove?: number[]; stop?: boolean };
    if (stop) return false;
    // A wait started and ended in one turn of the starting thread's loop comes in both lists.
    for (const word of add) watched.set(word[0], word);
    for (const id of remove) watched.delete(id);
  }
  return true;
}

/** Fills the futex_waitv array: the control word (expected `seen`), then every watched word. */
function arm(seen: number): number[] {
  FutexWaitv.setBigInt(slots[0]!, "val", seen >>> 0);
  const ids: number[] = [];
  for (const [id, address, expected, isPrivate] of watched.values()) {
    const slot = slots[ids.length + 1]!;
    FutexWaitv.setBigInt(slot, "uaddr", address);
    FutexWaitv.setBigInt(slot, "val", expected >>> 0);
    slot.flags = FUTEX_32 | (isPrivate ? FUTEX_PRIVATE_FLAG : 0);
    ids.push(id);
  }
  return ids;
}

/**
 * After EAGAIN (some word differs, the kernel does not say which) or EFAULT: asks the kernel about
 * each word with a zero-timeout FUTEX_WAIT, which compares without sleeping.
 */
function changedWords(ids: number[]): [number, WordOutcome][] {
  const changed: [number, WordOutcome][] = [];
  for (const id of ids) {
    const [, address, expected] = watched.get(id)!;
    try {
      if (futexWaitOnce(address, expected, 0) === "not-equal") changed.push([id, "not-equal"]);
    } catch {
      changed.push([id, "fault"]);
    }
  }
  return changed;
}
