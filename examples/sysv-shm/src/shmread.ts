/**
 * P6 shmread: attaches the segment shmwrite made for a key, prints `ip = <ip> ,count: <count>` every
 * interval, reading the struct in the shared memory at that moment, then detaches and removes the
 * segment with shmctl(IPC_RMID).
 *
 * Differences from the tutorial's C shmread (P6), and why:
 * - it never creates the segment. The C passed IPC_CREAT, so started before the writer it made an
 *   empty segment and printed `ip =  ,count: 0`; here a missing segment is an error naming the key.
 *   It also reported that failure with exit code 0; here it is 1;
 * - it attaches read-only (SHM_RDONLY): it never writes, and the kernel now makes sure of that;
 * - the C ended each line with two tabs, which show as nothing; they are left out;
 * - if someone else removed the segment while it was attached (`ipcrm -m ID`), its reads still
 *   work, because IPC_RMID only marks a segment: it goes when the last process detaches. The reader
 *   says so at the end instead of failing its own IPC_RMID with `Invalid argument`;
 * - SIGINT/SIGTERM/SIGHUP while it waits between reads: it still removes the segment, since it owns
 *   removal. A failed IPC_RMID is reported as the C does: `shmctl(IPC_RMID) failed, reason: …`, exit 3.
 */
import { runMain, parseCommand, onTerminationSignal, ConnStat, formatConnStat } from "@linux-ipc/programs";
import { sleep, SystemError, strerror, IPC_RMID, formatKey, SharedMemorySegment, shmctl, SHM_DEST } from "@linux-ipc/core";
import { keyOption, intervalOption, toKey, exitOnFailure, explainShmget, formatAddress } from "./common.ts";

const SHMGET_FAILED = 1;
const SHMAT_FAILED = 1;
const SHMDT_FAILED = 2;
const RMID_FAILED = 3;

await runMain("shmread", async () => {
  const { values } = parseCommand({
    name: "shmread",
    summary: "Attaches the System V segment for KEY (it never creates one), prints its struct Conn_stat every interval, then removes the segment (P6).",
    options: {
      key: keyOption,
      reads: { type: "integer", value: "N", description: "how many times to print the struct", default: 10, min: 0 },
      interval: intervalOption,
    },
  });
  const key = toKey(values.key);

  let attached: SharedMemorySegment | undefined;
  const stopHandlingSignals = onTerminationSignal(() => {
    if (attached) removeSegment(attached);
  });

  const segment = exitOnFailure(
    SHMGET_FAILED,
    () => SharedMemorySegment.open(key, ConnStat.size),
    explainShmget(key, ConnStat.size, `no segment has this key; shmread only attaches: start shmwrite --key ${formatKey(key)} first`),
  );
  const attachment = exitOnFailure(SHMAT_FAILED, () => segment.attach({ readOnly: true }));
  attached = segment;
  console.log(`\nMemory attached at ${formatAddress(attachment.address)}`);

  const stat = attachment.struct(ConnStat);
  for (let read = 0; read < values.reads; read++) {
    console.log(formatConnStat(stat));
    await sleep(values.interval);
  }

  const removedByOthers = markedForRemoval(segment);
  exitOnFailure(SHMDT_FAILED, () => attachment.detach());
  stopHandlingSignals();
  if (removedByOthers) {
    console.log(`segment ${formatKey(key)} (shm ${segment.id}) was removed by another process (ipcrm?) while attached; nothing left to remove`);
    return 0;
  }
  return removeSegment(segment) ? 0 : RMID_FAILED;
});

/** While this process is attached the segment still exists, so IPC_STAT shows whether it is marked. */
function markedForRemoval(segment: SharedMemorySegment): boolean {
  return (segment.stat().shm_perm.mode & SHM_DEST) !== 0;
}

function removeSegment(segment: SharedMemorySegment): boolean {
  try {
    shmctl(segment.id, IPC_RMID);
    return true;
  } catch (error) {
    if (!(error instanceof SystemError)) throw error;
    process.stderr.write(`shmctl(IPC_RMID) failed, reason: ${strerror(error.errno)}\n`);
    return false;
  }
}
