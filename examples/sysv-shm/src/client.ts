/**
 * P14 client: makes the server's key with the same ftok(path, id), attaches the server's segment and
 * writes `A`, `AB`, `ABC`, … into it, one letter per interval, each followed by its NUL; then
 * detaches (the server removes the segment).
 *
 * Differences from the tutorial's C client (P14), and why:
 * - it never creates the segment. The C passed IPC_CREAT without permission bits, so started
 *   before the server it created a segment of mode 0 (the server's IPC_EXCL then failed with EEXIST,
 *   and the segment stayed until `ipcrm`). Here a missing segment is an error: start the server first;
 * - each step stores the new NUL before the new letter, so the string in the segment is terminated
 *   at every moment (the C stored the letter first);
 * - shmat is checked (exit 3); the C wrote through the unchecked result;
 * - `--ticks` is at most 26: one letter per tick, A to Z.
 */
import { runMain, parseCommand, usageText } from "@linux-ipc/programs";
import { sleep, ftok, SharedMemorySegment } from "@linux-ipc/core";
import { FTOK_ANCHOR, SERVER_SEGMENT_SIZE, pathOption, projIdOption, intervalOption, checkProjId, exitOnFailure, explainShmget, formatKeyLikeC } from "./common.ts";

const FTOK_FAILED = 1;
const SHMGET_FAILED = 2;
const SHMAT_FAILED = 3;
const LETTER_A = "A".charCodeAt(0);
const LETTERS = 26;
const NUL = 0;

const command = {
  name: "client",
  summary: "Attaches the server's System V segment for ftok(PATH, ID) and writes A, AB, ABC, … into it, one letter per interval (P14).",
  options: {
    path: pathOption,
    "proj-id": projIdOption,
    ticks: { type: "integer", value: "N", description: "how many letters to write", default: LETTERS, min: 0, max: LETTERS },
    interval: intervalOption,
  },
} as const;

await runMain("client", async () => {
  const { values } = parseCommand(command);
  checkProjId(values["proj-id"], usageText(command), command.name);
  const path = values.path ?? FTOK_ANCHOR;

  const key = exitOnFailure(FTOK_FAILED, () => ftok(path, values["proj-id"]));
  const segment = exitOnFailure(
    SHMGET_FAILED,
    () => SharedMemorySegment.open(key, SERVER_SEGMENT_SIZE),
    explainShmget(key, SERVER_SEGMENT_SIZE, "no segment has this key; the client never creates it: start the server first, with the same --path and --proj-id"),
  );
  console.log(`key: ${formatKeyLikeC(key)}`);
  console.log(`shm: ${segment.id}`);

  const attachment = exitOnFailure(SHMAT_FAILED, () => segment.attach());
  const memory = attachment.bytes;
  for (let letter = 0; letter < values.ticks; letter++) {
    memory[letter + 1] = NUL;
    memory[letter] = LETTER_A + letter;
    await sleep(values.interval);
  }
  attachment.detach();
});
