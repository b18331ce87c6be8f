/**
 * What programs that own IPC objects share: a `--mode` option (permission bits in octal) and
 * creating an object under a fixed key when a killed earlier run left one behind.
 */
import { formatKey, idAtKey, isSystemError, removeLeftover, segmentLeftover, semaphoreSetLeftover, describeLeftover, type Leftover } from "@linux-ipc/core";
import { ExitError, type OptionSpec } from "./cli.ts";

/** A `--mode` option (octal permission bits); `who` says in the help who else can read and write with the default. */
export function modeOption(defaultMode: number, who: string) {
  return {
    type: "mode",
    value: "OCTAL",
    description: `permission bits (octal) of what it creates; the default: ${who}`,
    default: defaultMode,
  } as const satisfies OptionSpec;
}

/**
 * Runs `create` (an IPC_CREAT|IPC_EXCL creation of a segment or semaphore set under `key`). If it
 * fails with EEXIST and the object there is a leftover of a dead owner of the same user (see core's
 * leftovers.ts), removes that object, says so on stderr with the `ipcrm` command it stood for, and
 * creates again. Otherwise ends the program (ExitError) naming the object and the exact `ipcrm`
 * command, for the user to decide.
 */
export function createReplacingLeftover<T>(programName: string, kind: Leftover["kind"], key: number, create: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return create();
    } catch (error) {
      if (!isSystemError(error, "EEXIST") || attempt > 2) throw error;
    }
    const id = idAtKey(kind, key);
    if (id === null) continue;
    const leftover = kind === "segment" ? segmentLeftover(id) : semaphoreSetLeftover(id);
    if (leftover === null || !removeLeftover(leftover)) {
      const flag = kind === "segment" ? "-m" : "-s";
      throw new ExitError(
        `a ${kind} with key ${formatKey(key)} exists already (id ${id}) and is in use or not yours: end the program using it, or use another --key` + ` (if nothing uses it: ipcrm ${flag} ${id})`,
        1,
      );
    }
    process.stderr.write(`${programName}: removed a leftover ${describeLeftover(leftover)} (${leftover.ipcrm})\n`);
  }
}
