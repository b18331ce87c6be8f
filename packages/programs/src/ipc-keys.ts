/**
 * How the programs name a System V object: `--key K` (decimal or 0x hex), or `--path P --proj-id N`,
 * which ftok(3) turns into a key. The option specs are made per program, since each has its own
 * defaults; `keyFromOptions` reads whichever was given.
 */
import { ftok } from "@linux-ipc/core";
import { UsageError, type OptionSpec } from "./cli.ts";

/** A `--key` option without a default: a System V key in decimal or 0x hex. */
export const ipcKeyOptionNoDefault = {
  type: "integer",
  value: "K",
  description: "System V key, decimal or 0x hex (not 0: that is IPC_PRIVATE, which no other process can find)",
  min: 1,
  max: 0xffffffff,
} as const satisfies OptionSpec;

/** A `--key` option that is `defaultKey` when absent. */
export function ipcKeyOption(defaultKey: number) {
  return { ...ipcKeyOptionNoDefault, default: defaultKey } as const satisfies OptionSpec;
}

/** A `--path` option: the existing file ftok reads; `whenAbsent` says what is used without it. */
export function ftokPathOption(whenAbsent: string) {
  return {
    type: "string",
    value: "PATH",
    description: `existing file for ftok (default: ${whenAbsent})`,
  } as const satisfies OptionSpec;
}

/** A `--proj-id` option: ftok's project id, `defaultProjId` when absent. */
export function projIdOption(defaultProjId: number, description = "ftok project id; only its low 8 bits count, and they must not be 0") {
  return {
    type: "integer",
    value: "ID",
    description,
    default: defaultProjId,
    min: 1,
    max: 0xffffffff,
  } as const satisfies OptionSpec;
}

/** key_t is a signed 32-bit int: keys from 0x80000000 up are negative in C. */
export function toKey(value: number): number {
  return value | 0;
}

/** ftok only keeps the low 8 bits of the id; with those 0 the key would not depend on the id at all. */
export function checkProjId(projId: number, usage: string, programName: string): void {
  if ((projId & 0xff) === 0) {
    throw new UsageError(`${programName}: --proj-id 0x${projId.toString(16)} has 0 in its low 8 bits, the only ones ftok uses`, usage);
  }
}

/**
 * The key a program was given: ftok(`--path`, `--proj-id`) when `--path` is there, else `--key`, else
 * `defaultKey`. Both `--key` and `--path` is a usage error; so is a project id ftok cannot use. A
 * path ftok cannot read throws ftok's SystemError (ENOENT naming the path).
 */
export function keyFromOptions(values: { key?: number | undefined; path?: string | undefined; "proj-id": number }, defaultKey: number, usage: string, programName: string): number {
  if (values.path === undefined) return toKey(values.key ?? defaultKey);
  if (values.key !== undefined) throw new UsageError(`${programName}: give --key or --path (with --proj-id), not both`, usage);
  checkProjId(values["proj-id"], usage, programName);
  return ftok(values.path, values["proj-id"]);
}
