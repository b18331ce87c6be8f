/**
 * demo: runs each pair of this example as separate processes, with short intervals, printing what
 * each side prints as it prints it: shmwrite and shmread (P5/P6) on one key, then the ftok server
 * and client (P13/P14).
 *
 * It uses keys of its own (0x44454d4f, "DEMO", and ftok-anchor with project id 0x44, "D"), so it
 * never meets a learner's shmwrite on 1234 or server on project id 0x6666. Each reader is started
 * once its writer has said its segment is ready, since neither reader creates one. At the end it
 * checks that the segments its programs used are gone (removing and reporting any that is not),
 * and exits non-zero if any side failed.
 */
import { DemoSide, printCommand, printHeading, runMain, parseCommand, onTerminationSignal, usageText, siblingProgram } from "@linux-ipc/programs";
import { isSystemError, ftok, formatKey, SharedMemorySegment } from "@linux-ipc/core";
import { FTOK_ANCHOR, checkProjId, pathOption, toKey } from "./common.ts";

const DEMO_KEY = 0x44454d4f;
const DEMO_PROJ_ID = 0x44;

/** Starts program `name` of this example as a side, after showing its command line. */
function start(name: string, args: string[]): DemoSide {
  printCommand(name, args);
  // In a process group of its own, so a Ctrl-C reaches it once, forwarded by the demo: a second
  // signal arriving while its handler removes its segment would kill it half way.
  return new DemoSide(name, siblingProgram(import.meta.url, name), args, { detached: true });
}

/**
 * Starts the writer, and once it has printed `readyText` asks `segmentOf` for the id of the segment
 * it made, then starts the reader and waits for both.
 */
async function runPair(writer: [string, string[]], readyText: string, segmentOf: (readyLine: string) => number, reader: [string, string[]]): Promise<{ ok: boolean; id?: number }> {
  const first = start(...writer);
  let id: number;
  try {
    id = segmentOf(await first.waitForLine(readyText));
  } catch {
    await first.finished();
    return { ok: false };
  }
  const second = start(...reader);
  const [writerOk, readerOk] = await Promise.all([first.finished(), second.finished()]);
  return { ok: writerOk && readerOk, id };
}

/**
 * True if segment `id`, used by the demo's programs under `key`, is gone; if it is still there the
 * demo removes it, since it must leave nothing, and says so. An id that now has another key was
 * reused by someone else: that segment is left alone.
 */
function gone(id: number, key: number): boolean {
  const segment = SharedMemorySegment.fromId(id);
  try {
    if (segment.key !== key) return true;
  } catch (error) {
    if (isSystemError(error, "EINVAL") || isSystemError(error, "EIDRM")) return true;
    throw error;
  }
  segment.remove();
  console.error(`demo: segment ${formatKey(key)} (shm ${id}) was left behind; removed it`);
  return false;
}

const command = {
  name: "demo",
  summary: "Runs shmwrite with shmread, then server with client, as separate processes with short intervals.",
  options: {
    key: { type: "integer", value: "K", description: "key for shmwrite/shmread", default: DEMO_KEY, min: 1, max: 0xffffffff },
    path: pathOption,
    "proj-id": { type: "integer", value: "ID", description: "ftok project id for server/client", default: DEMO_PROJ_ID, min: 1, max: 0xffffffff },
  },
} as const;

await runMain("demo", async () => {
  const { values } = parseCommand(command);
  checkProjId(values["proj-id"], usageText(command), command.name);
  const key = toKey(values.key);
  const ftokArgs = [...(values.path === undefined ? [] : ["--path", values.path]), "--proj-id", `0x${values["proj-id"].toString(16)}`];
  onTerminationSignal((signal) => DemoSide.killAll(signal));

  printHeading(`System V shared memory: shmwrite/shmread (P5/P6), key ${formatKey(key)}`);
  const pair = await runPair(["shmwrite", ["--key", formatKey(key), "--ticks", "20", "--interval", "100"]], "Memory attached at", () => SharedMemorySegment.open(key).id, [
    "shmread",
    ["--key", formatKey(key), "--reads", "6", "--interval", "200"],
  ]);

  printHeading(`System V shared memory: ftok server/client (P13/P14), ftok(${values.path ?? "ftok-anchor"}, 0x${values["proj-id"].toString(16)})`);
  const server = await runPair(["server", [...ftokArgs, "--ticks", "14", "--interval", "150"]], "shm:", (line) => Number(line.slice("shm: ".length)), [
    "client",
    [...ftokArgs, "--ticks", "6", "--interval", "150"],
  ]);

  const pairClean = pair.id === undefined || gone(pair.id, key);
  const serverClean = server.id === undefined || gone(server.id, ftok(values.path ?? FTOK_ANCHOR, values["proj-id"]));
  return pair.ok && server.ok && pairClean && serverClean ? 0 : 1;
});
