/**
 * `ipcs -m` in TypeScript: the System V shared memory segments of this IPC namespace, one line each
 * (key, id, owner, perms, bytes, nattch, status), in the layout util-linux's `ipcs -m` prints, so
 * the tutorial's "look at it with ipcs" step works with this package alone.
 *
 * Like util-linux, it reads /proc/sysvipc/shm, the kernel's table of segments; `status` is `dest`
 * for a segment marked by IPC_RMID that someone is still attached to (its key is then shown as
 * 0x00000000), and `locked` for one locked in memory with SHM_LOCK.
 */
import { readFileSync } from "node:fs";
import { runMain, parseCommand } from "@linux-ipc/programs";
import { formatKey, SHM_DEST } from "@linux-ipc/core";
import { userNames } from "./passwd.ts";

const SEGMENT_TABLE = "/proc/sysvipc/shm";
/** `shm_perm.mode` bit the kernel sets while a segment is locked (SHM_LOCK); <linux/shm.h> SHM_LOCKED. */
const SHM_LOCKED = 0o2000;
const PERMISSION_BITS = 0o777;

interface SegmentRow {
  key: number;
  shmid: number;
  mode: number;
  size: string;
  nattch: string;
  uid: number;
}

function readSegmentTable(): SegmentRow[] {
  const [header, ...lines] = readFileSync(SEGMENT_TABLE, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
  const columns = header!.trim().split(/\s+/);
  const column = (fields: string[], name: string): string => fields[columns.indexOf(name)]!;
  return lines.map((line) => {
    const fields = line.trim().split(/\s+/);
    return {
      key: Number(column(fields, "key")),
      shmid: Number(column(fields, "shmid")),
      // The table prints the mode in octal, with the SHM_DEST and SHM_LOCKED bits.
      mode: parseInt(column(fields, "perms"), 8),
      size: column(fields, "size"),
      nattch: column(fields, "nattch"),
      uid: Number(column(fields, "uid")),
    };
  });
}

/** One line as util-linux formats it: `0x%08x %-10d %-10.10s %-10o %-10ju %-10ju %-6s %-6s`. */
function formatRow(row: SegmentRow, names: Map<number, string>): string {
  const owner = names.get(row.uid)?.slice(0, 10) ?? String(row.uid);
  const dest = row.mode & SHM_DEST ? "dest" : " ";
  const locked = row.mode & SHM_LOCKED ? "locked" : " ";
  return [
    formatKey(row.key),
    String(row.shmid).padEnd(10),
    owner.padEnd(10),
    (row.mode & PERMISSION_BITS).toString(8).padEnd(10),
    row.size.padEnd(10),
    row.nattch.padEnd(10),
    dest.padEnd(6),
    locked.padEnd(6),
  ].join(" ");
}

await runMain("ipcs", () => {
  parseCommand({
    name: "ipcs",
    summary: "Lists the System V shared memory segments (key, shmid, owner, perms, bytes, nattch, status) as `ipcs -m` does.",
    options: {
      // The tutorial types `ipcs -m`; shared memory is all this program lists, so -m changes nothing.
      shmems: { type: "boolean", short: "m", description: "shared memory segments (the only kind listed here), as in ipcs -m" },
    },
  });
  const names = userNames();
  const header = `${["key", "shmid", "owner", "perms", "bytes", "nattch"].map((title) => title.padEnd(10)).join(" ")} ${"status".padEnd(12)}`;
  const lines = ["", "------ Shared Memory Segments --------", header, ...readSegmentTable().map((row) => formatRow(row, names)), ""];
  process.stdout.write(`${lines.join("\n")}\n`);
});
