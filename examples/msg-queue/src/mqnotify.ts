/**
 * mqnotify (Stevens' pxmsg/mqnotifysig3.c): asks the kernel, with mq_notify, to send SIGUSR1 when a
 * message arrives on the empty POSIX queue NAME, waits for that signal, and then reads what the queue
 * holds without blocking, printing each message as mqreceive does.
 *
 * As in the C: the signal only sets a flag (here, Node's listener runs on the event loop, so the
 * reads happen there, never in a signal handler), and the registration is made again before the
 * queue is read, since a notification ends it. Differences, and why:
 * - the C looped for good; this stops after --count N messages (default 1) and gives the
 *   registration up, so a test or a script can use it;
 * - a notification comes only when a message arrives on an *empty* queue: messages already queued
 *   when it starts are read first rather than waited for in vain.
 */
import { constants } from "node:os";
import { parseCommand, runMain } from "@linux-ipc/programs";
import { MAX_TIMER_MS, PosixMessageQueue, SIGEV_SIGNAL, isSystemError, mq_notify, type PosixMessage } from "@linux-ipc/core";
import { queueName, receivedLine } from "./common.ts";

const command = {
  name: "mqnotify",
  summary: "Waits, with mq_notify and SIGUSR1, for messages to arrive on the empty POSIX queue NAME, and reads them.",
  positionals: ["NAME"],
  options: {
    count: { type: "integer", value: "N", description: "how many messages to read before it ends", default: 1, min: 1 },
  },
} as const;

await runMain("mqnotify", async () => {
  const { values, positionals } = parseCommand(command);
  const name = queueName(positionals[0]!, command);
  using queue = PosixMessageQueue.open(name, "read");

  // The signal may come while the queue is being read: the flag keeps it for the next wait.
  let signalled = false;
  let wake: (() => void) | undefined;
  const onSignal = (): void => {
    signalled = true;
    wake?.();
  };
  process.on("SIGUSR1", onSignal);
  const notification = { notify: SIGEV_SIGNAL, signo: constants.signals.SIGUSR1 } as const;
  try {
    mq_notify(queue.fd, notification);
    let read = 0;
    for (;;) {
      for (let message = nextMessage(queue); message !== null; message = read < values.count ? nextMessage(queue) : null) {
        console.log(receivedLine(message.bytes, "priority", message.priority));
        read++;
      }
      if (read === values.count) break;
      if (!signalled) {
        // Printed only now, with the queue found empty: a message sent after this line brings the signal.
        console.log(`waiting for a message on ${name} (mq_notify: SIGUSR1 to pid ${process.pid})`);
        // A signal listener does not keep Node's event loop alive (the C sat in sigsuspend): a timer does.
        const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
        await new Promise<void>((resolve) => (wake = resolve));
        clearInterval(keepAlive);
      }
      signalled = false;
      console.log("SIGUSR1 received");
      mq_notify(queue.fd, notification);
    }
    mq_notify(queue.fd, null);
  } finally {
    process.off("SIGUSR1", onSignal);
  }
});

/** One message without waiting, or null when the queue is empty (the C's mq_receive on O_NONBLOCK, EAGAIN). */
function nextMessage(queue: PosixMessageQueue): PosixMessage | null {
  try {
    return queue.receive({ wait: false });
  } catch (error) {
    if (isSystemError(error, "EAGAIN")) return null;
    throw error;
  }
}
