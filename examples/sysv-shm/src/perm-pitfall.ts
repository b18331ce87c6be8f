/**
 * perm-pitfall: the tutorial's first server called `shmget(key, 4096, IPC_CREAT)` with no permission
 * bits, so the segment got mode 0 and its own shmat failed with EACCES (Permission denied). This
 * program creates such a segment, shows the failed shmat, removes the segment, then shows the fix:
 * the permission bits in shmflg, `IPC_CREAT|IPC_EXCL|0666`.
 *
 * Run as root it must do more to tell the truth: root's CAP_IPC_OWNER capability bypasses System V
 * permission checks, so root's own shmat of a mode-0 segment succeeds. It says so, and shows the
 * failure from a child process that has become `nobody` (attach-as.ts).
 *
 * It uses IPC_PRIVATE (always a new segment, so it never meets anyone else's) unless --key is given,
 * and removes every segment it creates, on SIGINT/SIGTERM/SIGHUP too.
 */
import { spawnSync } from "node:child_process";
import { runMain, parseCommand, onTerminationSignal, siblingProgram } from "@linux-ipc/programs";
import { IPC_PRIVATE, formatKey, SharedMemorySegment } from "@linux-ipc/core";
import { SERVER_SEGMENT_SIZE, attachAttempt, toKey } from "./common.ts";
import { userNames } from "./passwd.ts";

/** The document's mistake: no permission bits in shmflg. */
const PITFALL_MODE = 0o000;
/** The document's fix. */
const FIX_MODE = 0o666;
const UNPRIVILEGED_USER = "nobody";
const ROOT_UID = 0;
const ATTACH_AS = siblingProgram(import.meta.url, "attach-as");

await runMain("perm-pitfall", () => {
  const { values } = parseCommand({
    name: "perm-pitfall",
    summary: "Shows why shmat fails with EACCES on a segment created without permission bits (mode 0), and the fix (0666).",
    options: {
      key: { type: "integer", value: "K", description: "key for the segments (default: IPC_PRIVATE, a new segment each time)", default: IPC_PRIVATE, min: 0, max: 0xffffffff },
    },
  });
  const key = toKey(values.key);
  const keyText = key === IPC_PRIVATE ? "IPC_PRIVATE" : formatKey(key);
  const uid = process.getuid!();
  const self = `${userNames().get(uid) ?? "uid"} (uid ${uid})`;

  // With a handler installed, a signal waits until the synchronous work below has removed its
  // segments, instead of killing the process between shmget and IPC_RMID.
  let current: SharedMemorySegment | undefined;
  onTerminationSignal(() => current?.remove());

  /** Creates a segment with `mode`, runs `attempt`, and removes the segment whatever happens. */
  const withSegment = <T extends { line: string }>(mode: number, attempt: (segment: SharedMemorySegment) => T): T => {
    current = SharedMemorySegment.create(key, SERVER_SEGMENT_SIZE, mode);
    try {
      console.log(`shmget(${keyText}, ${SERVER_SEGMENT_SIZE}, IPC_CREAT|IPC_EXCL|${cOctal(mode)}) -> shm: ${current.id}, perms ${mode.toString(8).padStart(3, "0")}`);
      const outcome = attempt(current);
      console.log(outcome.line);
      return outcome;
    } finally {
      current.remove();
      console.log(`shmctl(shm ${current.id}, IPC_RMID): removed`);
    }
  };

  /** Who must be refused on a mode-0 segment and let in with 0666: this process, or `nobody` if this is root. */
  const unprivilegedAttach = (id: number): { attached: boolean; line: string } => {
    if (uid !== ROOT_UID) return attachAttempt(id, self);
    const child = spawnSync(process.execPath, [ATTACH_AS, UNPRIVILEGED_USER, String(id)], { encoding: "utf8" });
    const line = (child.stdout.trim() || child.stderr.trim() || `attach-as ended with status ${child.status}`).split("\n").join(" ");
    return { attached: child.status === 0, line };
  };

  console.log(`=== perm-pitfall: shmget without permission bits (mode 0), then the fix (0666) ===`);
  const refused = withSegment(PITFALL_MODE, (segment) => {
    if (uid === ROOT_UID) {
      console.log(attachAttempt(segment.id, self).line);
      console.log(`  (root's CAP_IPC_OWNER capability bypasses System V permission checks; a process without it shows the pitfall:)`);
    }
    return unprivilegedAttach(segment.id);
  });
  console.log(`--- the fix: permission bits in shmflg ---`);
  const admitted = withSegment(FIX_MODE, (segment) => unprivilegedAttach(segment.id));

  if (refused.attached || !refused.line.includes("EACCES") || !admitted.attached) {
    process.stderr.write("perm-pitfall: the outcome differs from what the tutorial describes (see the lines above)\n");
    return 1;
  }
  return 0;
});

/** A mode as C source writes it: 0, 0666. */
function cOctal(mode: number): string {
  return mode === 0 ? "0" : `0${mode.toString(8)}`;
}
