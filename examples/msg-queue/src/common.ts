/**
 * What the msg-queue programs share: the options that name a System V queue (`--key`, or `--path`
 * and `--proj-id` for ftok, parsed by packages/programs as sysv-shm's are), a POSIX queue's NAME
 * argument, reading a message from stdin, and the line each received message is printed as.
 */
import { readFileSync } from "node:fs";
import { ExitError, UsageError, ftokPathOption, ipcKeyOptionNoDefault, keyFromOptions, perrorLine, projIdOption, usageText, type CommandSpec, type OptionSpec } from "@linux-ipc/programs";
import { MessageQueue, SystemError, formatKey, type PosixMessageQueue } from "@linux-ipc/core";

/** The key the System V programs use without --key or --path: 0x4d534751, "MSGQ". */
export const DEFAULT_KEY = 0x4d534751;

/** ftok's project id without --proj-id (Stevens' svmsg programs pass 0; ftok needs a non-zero one). */
export const DEFAULT_PROJ_ID = 0x51;

/** The options that name a System V queue; `keyOf` reads them. */
export const keyOptions = {
  key: { ...ipcKeyOptionNoDefault, description: `System V key, decimal or 0x hex (default: ${formatKey(DEFAULT_KEY)}; not 0, IPC_PRIVATE)` },
  path: ftokPathOption("none: --key is used"),
  "proj-id": projIdOption(DEFAULT_PROJ_ID),
} as const satisfies Record<string, OptionSpec>;

/** The key given by `keyOptions`' values: ftok(--path, --proj-id), else --key, else DEFAULT_KEY. */
export function keyOf<O extends Record<string, OptionSpec>>(values: { key: number | undefined; path: string | undefined; "proj-id": number }, command: CommandSpec<O>): number {
  return keyFromOptions(values, DEFAULT_KEY, usageText(command), command.name);
}

/** Opens the queue for `key`; a missing one is a one-line error that says how to create it (`whenMissing`). */
export function openQueue(key: number, whenMissing = `create it with msgcreate --key ${formatKey(key)}`): MessageQueue {
  try {
    return MessageQueue.open(key);
  } catch (error) {
    if (error instanceof SystemError && error.code === "ENOENT") {
      throw new ExitError(`${perrorLine(error)} (no queue has this key: ${whenMissing})`, 1);
    }
    throw error;
  }
}

/**
 * A POSIX queue's name as given: it must be `/something`, as mq_open wants it. A name without the
 * slash is refused with the name it should have been, rather than passed on for mq_open's EINVAL.
 */
export function queueName<O extends Record<string, OptionSpec>>(name: string, command: CommandSpec<O>): string {
  if (!name.startsWith("/")) {
    throw new UsageError(`${command.name}: a POSIX queue's NAME starts with "/" (e.g. /${name}), not '${name}'`, usageText(command));
  }
  if (name.length < 2 || name.includes("/", 1)) {
    throw new UsageError(`${command.name}: a POSIX queue's NAME is "/" and a name without "/" in it (e.g. /orders), not '${name}'`, usageText(command));
  }
  return name;
}

/** The message to send: TEXT's UTF-8 bytes, or without TEXT every byte of stdin (which may be binary). */
export function messageBytes(text: string | undefined): Uint8Array {
  return text === undefined ? new Uint8Array(readFileSync(0)) : new TextEncoder().encode(text);
}

const decoder = new TextDecoder();

/** How the programs print a message received: `read 5 bytes, type = 7: hello` (the label and value vary). */
export function receivedLine(bytes: Uint8Array, label: string, value: number): string {
  return `read ${bytes.length} bytes, ${label} = ${value}: ${decoder.decode(bytes)}`;
}

/** An option that prints the received bytes themselves, nothing else (for binary messages and pipes). */
export const rawOption = {
  type: "boolean",
  description: "write each message's bytes to stdout as they are, with no line around them",
} as const satisfies OptionSpec;

/** A kernel limit as its /proc/sys file holds it, or "?" where /proc is hidden. */
export function kernelLimit(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "?";
  }
}

/** A POSIX queue's attributes in the words of Stevens' mqgetattr. */
export function attributesLine(queue: PosixMessageQueue): string {
  const { maxMessages, messageSize, currentMessages } = queue.attributes();
  return `max #msgs = ${maxMessages}, max #bytes/msg = ${messageSize}, #currently on queue = ${currentMessages}`;
}
