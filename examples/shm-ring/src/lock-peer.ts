/**
 * lock-peer: one side (A or B) of lock-demo. The two sides take turns in one shared buffer
 * (lock-buffer.ts). On its turn a side copies the other's message out of the buffer in one go (as C
 * would with memcpy) and checks the copy: its hash, and that it answers the hash of this side's last
 * message. Then it writes its reply: a random body, the hash of the message it answers, and its own
 * hash. A writes ROUNDS messages and makes a last check; B answers ROUNDS times.
 *
 * A reply is written as a naive program writes it: it claims the buffer (sets `writer`) and wakes
 * the other side first, then fills in the fields and the body, byte by byte. With the lock
 * (semaphore 0 of the set with the segment's key, taken with SEM_UNDO around the read and the reply)
 * the other side waits for the lock and only ever sees whole messages; with --unlocked nothing stops
 * it from reading while the body is still being written, and it counts the corrupt messages it sees.
 */
import { ExitError, parseCommand, runMain } from "@linux-ipc/programs";
import { isSystemError, formatKey, SharedMemorySegment, SemaphoreSet, FutexWord, int32View } from "@linux-ipc/core";
import { ANSWERS, BODY, BODY_MAX, DONE_A, DONE_B, HASH, LENGTH, LOCK, ROUND, SEGMENT_SIZE, SIDE_A, SIDE_B, WRITER, messageHash } from "./lock-buffer.ts";

const SPINS = 2000;
const NAP_MS = 20;

await runMain("lock-peer", async () => {
  const { values } = parseCommand({
    name: "lock-peer",
    summary: "One side of lock-demo: takes turns with the other side answering messages in one shared buffer, and counts corrupt ones.",
    options: {
      key: { type: "integer", value: "K", description: "System V key of the segment and of the semaphore set lock-demo created", default: 0x4c4f434b, min: 1, max: 0x7fffffff },
      side: { type: "string", value: "A|B", description: "which side this is", default: "A" },
      rounds: { type: "integer", value: "N", description: "how many messages each side writes", default: 10_000, min: 1 },
      unlocked: { type: "boolean", description: "do not take the lock (shows the corruption it prevents)" },
    },
  });
  if (values.side !== "A" && values.side !== "B") throw new ExitError(`--side must be A or B, not '${values.side}'`, 1);
  const me = values.side === "A" ? SIDE_A : SIDE_B;

  let segment: SharedMemorySegment;
  let lock: SemaphoreSet;
  try {
    segment = SharedMemorySegment.open(values.key, SEGMENT_SIZE);
    lock = SemaphoreSet.open(values.key, 1);
  } catch (error) {
    if (isSystemError(error, "ENOENT")) throw new ExitError(`nothing at key ${formatKey(values.key)}: lock-demo creates the segment and the semaphore`, 1);
    throw error;
  }
  using attachment = segment.attach();
  const bytes = attachment.bytes;
  const words = int32View(attachment, 0, BODY >> 2);
  const turnWord = new FutexWord(attachment, WRITER * 4);
  const isMyTurn = (writer: number): boolean => (me === SIDE_A ? writer !== SIDE_A : writer === SIDE_A);
  const otherDone = (): boolean => Atomics.load(words, me === SIDE_A ? DONE_B : DONE_A) !== 0;

  const parent = process.ppid;
  let seed = process.pid;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;

  // The other side's message is copied out in one go (a memcpy, as C would) and checked in the copy.
  const message = new Uint8Array(BODY + BODY_MAX);
  const received = new Int32Array(message.buffer, 0, BODY >> 2);

  const turns = me === SIDE_A ? values.rounds + 1 : values.rounds;
  let myLastHash = -1;
  let checked = 0;
  let corrupt = 0;
  for (let turn = 0; turn < turns; ) {
    if (!(await waitForTurn())) break;
    if (!values.unlocked) lock.acquire(LOCK);
    if (!isMyTurn(words[WRITER]!)) {
      if (!values.unlocked) lock.release(LOCK);
      continue;
    }
    let answer = 0;
    if (words[WRITER] !== 0) {
      checked++;
      message.set(bytes.subarray(0, message.byteLength));
      answer = messageHash(message, received[LENGTH]!);
      const intact = answer === received[HASH]! >>> 0 && (myLastHash < 0 || received[ANSWERS]! >>> 0 === myLastHash);
      if (!intact) corrupt++;
    }
    if (me === SIDE_B || turn < values.rounds) {
      words[WRITER] = me;
      turnWord.wake();
      words[ROUND] = turn;
      const length = 1 + (random() % BODY_MAX);
      words[LENGTH] = length;
      words[ANSWERS] = answer;
      const fill = random();
      for (let i = 0; i < length; i++) bytes[BODY + i] = (fill + i * 7) & 0xff;
      myLastHash = messageHash(bytes, length);
      words[HASH] = myLastHash;
    }
    if (!values.unlocked) lock.release(LOCK);
    turn++;
  }
  Atomics.store(words, me === SIDE_A ? DONE_A : DONE_B, 1);
  turnWord.wake();
  console.log(`lock-peer ${values.side}: ${values.rounds} rounds, ${checked} replies checked, ${corrupt} corrupt${values.unlocked ? " (unlocked)" : ""}`);

  /** Spins, then naps on the futex of `writer`, until it is this side's turn (false: the other side finished). */
  async function waitForTurn(): Promise<boolean> {
    for (let spin = 0; ; spin++) {
      const writer = Atomics.load(words, WRITER);
      if (isMyTurn(writer)) return true;
      // The other side stores its done flag after its last message: if that message came in since
      // `writer` was read, it is this side's turn once more, to check the last reply.
      if (otherDone()) return isMyTurn(Atomics.load(words, WRITER));
      if (spin >= SPINS) {
        await turnWord.waitAsync(writer, { timeoutMs: NAP_MS });
        // Run by lock-demo, a side whose parent is gone would wait for a turn that never comes.
        if (process.ppid !== parent) throw new ExitError("lock-demo, which started this side, is gone", 1);
      }
    }
  }
});
