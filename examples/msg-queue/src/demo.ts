/**
 * demo: runs the programs of this example one after another as separate processes, printing what
 * each prints as `[program] line`: the System V programs on one queue (types and msgrcv's three kinds
 * of selection), the POSIX programs on one queue (priorities, mq_notify), then the server with three
 * clients at once on one queue, each client checking that every reply it gets is its own.
 *
 * It uses names of its own (keys 0x44454d51, "DEMQ", and 0x44454d53, "DEMS"; the queue
 * /msg-queue-demo-<pid>), so it never meets a learner's queues. At the end it checks that every
 * queue its programs used is gone (removing and reporting any that is not), and exits non-zero if
 * a program did not end as expected.
 */
import { once } from "node:events";
import { DemoSide, keyFromOptions, onTerminationSignal, parseCommand, printHeading, runMain, siblingProgram, usageText } from "@linux-ipc/programs";
import { MessageQueue, formatKey, isSystemError, mq_unlink } from "@linux-ipc/core";
import { keyOptions } from "./common.ts";

const DEMO_KEY = 0x44454d51;
const DEMO_SERVER_KEY = 0x44454d53;

const command = {
  name: "demo",
  summary: "Runs the System V programs, the POSIX programs, then a server with three clients, each as a separate process.",
  options: {
    ...keyOptions,
    key: { ...keyOptions.key, description: `key of the System V programs' queue (default: ${formatKey(DEMO_KEY)})` },
    "server-key": { ...keyOptions.key, description: "key of the server's queue", default: DEMO_SERVER_KEY },
    name: { type: "string", value: "NAME", description: "the POSIX queue's name (default: /msg-queue-demo-<pid>)" },
  },
} as const;

const running = new Set<DemoSide>();

/** Starts `program` with `args`, its lines relayed as `[program] line`. */
function start(program: string, args: string[]): DemoSide {
  console.log(`$ ${program} ${args.join(" ")}`);
  const side = new DemoSide(program, siblingProgram(import.meta.url, program), args);
  running.add(side);
  side.child.once("exit", () => running.delete(side));
  return side;
}

/** Runs `program` to its end; false (said on stderr) when it did not exit with `expectedCode`. */
function run(program: string, args: string[], expectedCode = 0): Promise<boolean> {
  return start(program, args).finished(expectedCode);
}

/** Runs the steps in order, stopping at the first that fails. */
async function inOrder(steps: (() => Promise<boolean>)[]): Promise<boolean> {
  for (const step of steps) if (!(await step())) return false;
  return true;
}

/** Removes the System V queue with `key`; false if there was none. */
function removeSystemVQueue(key: number): boolean {
  try {
    MessageQueue.open(key).remove();
    return true;
  } catch (error) {
    if (isSystemError(error, "ENOENT")) return false;
    throw error;
  }
}

/** Unlinks the POSIX queue `name`; false if there was none. */
function removePosixQueue(name: string): boolean {
  try {
    mq_unlink(name);
    return true;
  } catch (error) {
    if (isSystemError(error, "ENOENT")) return false;
    throw error;
  }
}

/** True if no System V queue has `key`; otherwise removes it and says so. */
function systemVQueueGone(key: number): boolean {
  if (!removeSystemVQueue(key)) return true;
  console.error(`demo: the queue with key ${formatKey(key)} was left behind; removed it`);
  return false;
}

/** True if the POSIX queue `name` is gone; otherwise unlinks it and says so. */
function posixQueueGone(name: string): boolean {
  if (!removePosixQueue(name)) return true;
  console.error(`demo: the queue ${name} was left behind; removed it`);
  return false;
}

await runMain("demo", async () => {
  const { values } = parseCommand(command);
  const key = formatKey(keyFromOptions(values, DEMO_KEY, usageText(command), command.name));
  const serverKey = formatKey(values["server-key"]);
  const name = values.name ?? `/msg-queue-demo-${process.pid}`;
  // The two queues the programs share outlive the program that creates them (msgcreate, mqcreate)
  // until msgrmid or mqunlink runs: a demo ended by a signal removes them itself. The server's queue
  // is the server's, which removes it on the signal passed on to it.
  const stopHandlingSignals = onTerminationSignal((signal) => {
    for (const side of running) side.kill(signal);
    removeSystemVQueue(Number(key));
    removePosixQueue(name);
  });

  printHeading(`System V message queue: msgcreate, msgsnd, msgrcv, msgstat, msgrmid (key ${key})`);
  const systemV = await inOrder([
    () => run("msgcreate", ["--key", key, "--excl"]),
    () => run("msgsnd", ["--key", key, "--type", "300", "three hundred"]),
    () => run("msgsnd", ["--key", key, "--type", "100", "one hundred"]),
    () => run("msgsnd", ["--key", key, "--type", "200", "two hundred"]),
    () => run("msgstat", ["--key", key]),
    () => run("msgrcv", ["--key", key, "--type", "200"]),
    () => run("msgrcv", ["--key", key, "--type", "-300"]),
    () => run("msgrcv", ["--key", key]),
    () => run("msgrcv", ["--key", key, "--nowait"], 1),
    () => run("msgrmid", ["--key", key]),
  ]);

  printHeading(`POSIX message queue: mqcreate, mqsend, mqgetattr, mqreceive, mqnotify, mqunlink (${name})`);
  const posix = await inOrder([
    () => run("mqcreate", [name, "--excl", "--maxmsg", "4", "--msgsize", "64"]),
    () => run("mqsend", [name, "low", "--priority", "1"]),
    () => run("mqsend", [name, "high", "--priority", "9"]),
    () => run("mqsend", [name, "middle", "--priority", "5"]),
    () => run("mqgetattr", [name]),
    () => run("mqreceive", [name, "--count", "3"]),
    async () => {
      const waiting = start("mqnotify", [name]);
      await waiting.waitForLine("waiting for a message");
      return (await run("mqsend", [name, "wake up", "--priority", "3"])) && (await waiting.finished());
    },
    () => run("mqreceive", [name, "--timeout", "200"], 1),
    () => run("mqunlink", [name]),
  ]);

  printHeading(`one System V queue, many clients: server and three clients at once (key ${serverKey})`);
  const server = start("server", ["--key", serverKey]);
  let multiplexed = false;
  try {
    await server.waitForLine("waiting for requests");
    const clients = ["apple", "banana", "cherry"].map((text) => start("client", ["--key", serverKey, "--requests", "2", text]));
    multiplexed = (await Promise.all(clients.map((client) => client.finished()))).every(Boolean);
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
  }
  // A server serves until it is told to stop; on SIGTERM it removes its queue and ends by that signal.
  console.log(`$ kill -TERM ${server.child.pid}`);
  const stillRunning = server.child.exitCode === null && server.child.signalCode === null;
  const ended = stillRunning ? once(server.child, "exit") : Promise.resolve([server.child.exitCode, server.child.signalCode]);
  server.kill("SIGTERM");
  const [, signal] = (await ended) as [number | null, NodeJS.Signals | null];
  if (signal !== "SIGTERM") {
    console.error("demo: the server did not end by SIGTERM");
    multiplexed = false;
  }

  stopHandlingSignals();
  const clean = [systemVQueueGone(Number(key)), systemVQueueGone(Number(serverKey)), posixQueueGone(name)].every(Boolean);
  return systemV && posix && multiplexed && clean ? 0 : 1;
});
