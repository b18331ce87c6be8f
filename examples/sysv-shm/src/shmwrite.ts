/**
 * P5 shmwrite: gets (or creates) the System V segment for a key, big enough for one
 * `struct Conn_stat`, attaches it, stores `{0, "127.0.0.1"}` and adds 1 to `count` every interval.
 *
 * Differences from the tutorial's C shmwrite (P5), and why:
 * - the key, the number of ticks and the interval are options (defaults: 1234, 50, 1000 ms);
 * - the struct is stored before `Memory attached at` is printed, so a reader started on that line
 *   never sees the segment half set up;
 * - a failed call prints what failed and why on one line, not just `shmget failed` (exit codes stay
 *   1, 2 and 3 for shmget, shmat and shmdt);
 * - on normal exit the segment stays for shmread to read and remove, as in C, and the writer says
 *   so. Interrupted (SIGINT/SIGTERM/SIGHUP) before any reader came, a writer that created the
 *   segment removes it: nobody else knows it exists, so it would only leak. A segment someone else
 *   created, or one a reader is attached to, is left to its owner.
 */
import { runMain, parseCommand, onTerminationSignal, ConnStat, modeOption } from "@linux-ipc/programs";
import { sleep, isSystemError, formatKey, SharedMemorySegment, SHM_DEST } from "@linux-ipc/core";
import { keyOption, intervalOption, toKey, exitOnFailure, explainShmget, formatAddress } from "./common.ts";

const SHMGET_FAILED = 1;
const SHMAT_FAILED = 2;
const SHMDT_FAILED = 3;

await runMain("shmwrite", async () => {
  const { values } = parseCommand({
    name: "shmwrite",
    summary: 'Creates (or reuses) the System V segment for KEY, stores {0, "127.0.0.1"} as a struct Conn_stat and adds 1 to count every interval (P5).',
    options: {
      key: keyOption,
      ticks: { type: "integer", value: "N", description: "how many times to add 1 to count", default: 50, min: 0 },
      interval: intervalOption,
      mode: modeOption(0o666, "as the C, every user on the machine can read and write it"),
    },
    details: "The segment outlives this program: shmread --key KEY reads it and removes it (or: ipcrm -m ID).",
  });
  const key = toKey(values.key);

  let removeIfInterrupted: SharedMemorySegment | undefined;
  const stopHandlingSignals = onTerminationSignal(() => {
    if (removeIfInterrupted && onlyThisProcessAttached(removeIfInterrupted)) removeIfInterrupted.remove();
  });

  const segment = exitOnFailure(SHMGET_FAILED, () => SharedMemorySegment.openOrCreate(key, ConnStat.size, values.mode), explainShmget(key, ConnStat.size));
  if (createdByThisProcess(segment)) removeIfInterrupted = segment;
  const attachment = exitOnFailure(SHMAT_FAILED, () => segment.attach());

  const stat = attachment.struct(ConnStat);
  stat.bytes.fill(0);
  stat.count = 0;
  stat.ip = "127.0.0.1";
  console.log(`Memory attached at ${formatAddress(attachment.address)}`);

  for (let tick = 0; tick < values.ticks; tick++) {
    stat.count++;
    await sleep(values.interval);
  }

  exitOnFailure(SHMDT_FAILED, () => attachment.detach());
  stopHandlingSignals();
  if (stillWaitingForReader(segment)) {
    console.log(`segment ${formatKey(key)} (shm ${segment.id}) stays until shmread --key ${formatKey(key)} removes it (or: ipcrm -m ${segment.id})`);
  }
});

/** shm_cpid is the creator's pid: shmget with IPC_CREAT alone does not say whether it created the segment. */
function createdByThisProcess(segment: SharedMemorySegment): boolean {
  try {
    return segment.stat().shm_cpid === process.pid;
  } catch (error) {
    // IPC_STAT needs read permission, which a segment this process just created with --mode grants.
    if (isSystemError(error, "EACCES")) return false;
    throw error;
  }
}

function onlyThisProcessAttached(segment: SharedMemorySegment): boolean {
  try {
    return segment.stat().shm_nattch <= 1;
  } catch (error) {
    if (isSystemError(error)) return false;
    throw error;
  }
}

/** False once a reader has removed it: gone (EINVAL/EIDRM), or marked to go when the last process detaches. */
function stillWaitingForReader(segment: SharedMemorySegment): boolean {
  try {
    return (segment.stat().shm_perm.mode & SHM_DEST) === 0;
  } catch (error) {
    if (isSystemError(error, "EINVAL") || isSystemError(error, "EIDRM")) return false;
    throw error;
  }
}
