/**
 * P13 server: makes a key with ftok(path, id), creates a new 4096-byte segment for it
 * (IPC_CREAT|IPC_EXCL|0666), prints `key: <hex>` and `shm: <id>`, attaches it and prints the
 * string in it every interval while a client writes, then detaches and removes it.
 *
 * Differences from the tutorial's C server (P13), and why:
 * - the ftok file defaults to `ftok-anchor` beside this package's sources, not `./tmp` relative to
 *   the directory the program was started in (which usually did not exist: ftok failed);
 * - a failed ftok names the path; a failed shmget says why (EEXIST: which id to `ipcrm -m`);
 * - shmat is checked (exit 3); the C used the result unchecked;
 * - the string is read up to the first NUL within the segment, never past its end;
 * - --mode sets the permission bits (default 0666 as in the C, so C clients can attach: any user
 *   can then read and write the segment; --mode 600 keeps it to this user);
 * - a segment left by a server killed with SIGKILL is named as such, with its `ipcrm` command;
 * - SIGINT/SIGTERM/SIGHUP while it waits between prints: the segment is still removed. The C left
 *   it behind until `ipcrm`, and the next server then failed with EEXIST.
 */
import { runMain, parseCommand, onTerminationSignal, usageText, modeOption } from "@linux-ipc/programs";
import { sleep, ftok, SharedMemorySegment, cString } from "@linux-ipc/core";
import { FTOK_ANCHOR, SERVER_SEGMENT_SIZE, pathOption, projIdOption, intervalOption, checkProjId, exitOnFailure, explainShmget, formatKeyLikeC } from "./common.ts";

const FTOK_FAILED = 1;
const SHMGET_FAILED = 2;
const SHMAT_FAILED = 3;

const command = {
  name: "server",
  summary: "Creates a 4096-byte System V segment for ftok(PATH, ID) and prints the string a client writes into it every interval, then removes it (P13).",
  options: {
    path: pathOption,
    "proj-id": projIdOption,
    ticks: { type: "integer", value: "N", description: "how many times to print the string", default: 26, min: 0 },
    interval: intervalOption,
    mode: modeOption(0o666, "as the C, every user on the machine can read and write it"),
  },
} as const;

await runMain("server", async () => {
  const { values } = parseCommand(command);
  checkProjId(values["proj-id"], usageText(command), command.name);
  const path = values.path ?? FTOK_ANCHOR;

  const key = exitOnFailure(FTOK_FAILED, () => ftok(path, values["proj-id"]));
  let created: SharedMemorySegment | undefined;
  const stopHandlingSignals = onTerminationSignal(() => created?.remove());
  const segment = exitOnFailure(SHMGET_FAILED, () => SharedMemorySegment.create(key, SERVER_SEGMENT_SIZE, values.mode), explainShmget(key, SERVER_SEGMENT_SIZE));
  created = segment;
  console.log(`key: ${formatKeyLikeC(key)}`);
  console.log(`shm: ${segment.id}`);

  const attachment = exitOnFailure(SHMAT_FAILED, () => segment.attach());
  for (let tick = 0; tick < values.ticks; tick++) {
    console.log(cString(attachment.bytes));
    await sleep(values.interval);
  }

  attachment.detach();
  segment.remove();
  stopHandlingSignals();
});
