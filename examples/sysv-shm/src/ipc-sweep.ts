/**
 * ipc-sweep [DIR…] [--remove]: finds what this project's programs leave behind when they are killed
 * with SIGKILL (which runs no cleanup), and lists it with the command that removes each thing; with
 * --remove it removes them. It only ever considers objects of the current user whose owner is gone:
 *
 * - System V segments whose creator (shm_cpid) is gone and that nothing has attached, and semaphore
 *   sets whose last users (GETPID of every semaphore) are gone and that nobody waits on;
 * - in each DIR (default: the current folder; not recursive): FIFOs that no process has open,
 *   UNIX socket files that no socket is bound to (/proc/net/unix), and filecopy's temporary copies
 *   (`.NAME.copy-PID-HEX`) whose PID is gone.
 *
 * Each candidate is checked again just before it is removed. A System V object whose creator is
 * alive, or that is attached, is never listed.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCommand, runMain } from "@linux-ipc/programs";
import { describeLeftover, findLeftovers, isProcessAlive, removeLeftover } from "@linux-ipc/core";

interface FileLeftover {
  path: string;
  what: string;
  /** Checks again that it is still a leftover. */
  still: () => boolean;
}

const TEMPORARY_COPY = /^\..+\.copy-(\d+)-[0-9a-f]+$/;

await runMain("ipc-sweep", () => {
  const { values, positionals } = parseCommand({
    name: "ipc-sweep",
    summary: "Lists (or with --remove, removes) the System V segments and semaphore sets, FIFOs, socket files and temporary copies that killed programs of yours left behind.",
    positionals: ["DIR…?"],
    options: {
      key: { type: "integer", value: "K", description: "only System V objects with this key (decimal or 0x hex)", min: 0, max: 0xffffffff },
      remove: { type: "boolean", description: "remove what it lists (default: only list, with the command that would remove each)" },
    },
    details: "Only objects of your user whose owner process is gone and that nothing has attached or open are considered.",
  });
  const dirs = positionals.length > 0 ? positionals : ["."];
  let found = 0;
  for (const leftover of findLeftovers().filter((found) => values.key === undefined || found.key >>> 0 === values.key >>> 0)) {
    found++;
    if (!values.remove) console.log(`${leftover.ipcrm.padEnd(24)} # ${describeLeftover(leftover)}`);
    else if (removeLeftover(leftover)) console.log(`removed ${describeLeftover(leftover)}`);
  }
  for (const leftover of dirs.flatMap(fileLeftovers)) {
    found++;
    const command = `rm ${shellQuote(leftover.path)}`;
    if (!values.remove) console.log(`${command.padEnd(24)} # ${leftover.what}`);
    else if (leftover.still()) {
      rmSync(leftover.path, { force: true });
      console.log(`removed ${leftover.path} (${leftover.what})`);
    }
  }
  if (found === 0) console.log("ipc-sweep: nothing left behind");
});

function fileLeftovers(dir: string): FileLeftover[] {
  const uid = process.geteuid?.() ?? -1;
  const open = openInodes();
  const bound = boundSocketPaths();
  const found: FileLeftover[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (stat === undefined || stat.uid !== uid) continue;
    const inode = `${stat.dev}:${stat.ino}`;
    if (stat.isFIFO() && !open.has(inode)) {
      found.push({ path, what: "FIFO that no process has open", still: () => isSame(path, inode) && !openInodes().has(inode) });
    } else if (stat.isSocket() && !bound.has(resolve(path))) {
      found.push({ path, what: "socket file that no socket is bound to", still: () => isSame(path, inode) && !boundSocketPaths().has(resolve(path)) });
    } else if (stat.isFile()) {
      const pid = Number(TEMPORARY_COPY.exec(name)?.[1] ?? 0);
      if (pid > 0 && !isProcessAlive(pid)) found.push({ path, what: `temporary copy of filecopy's pid ${pid}, which is gone`, still: () => isSame(path, inode) });
    }
  }
  return found;
}

function isSame(path: string, inode: string): boolean {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat !== undefined && `${stat.dev}:${stat.ino}` === inode;
}

/** dev:ino of every file any process this user can see has open (/proc/PID/fd). */
function openInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("/")) {
          const stat = statSync(`/proc/${pid}/fd/${fd}`);
          inodes.add(`${stat.dev}:${stat.ino}`);
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** The paths UNIX sockets are bound to (the last column of /proc/net/unix). */
function boundSocketPaths(): Set<string> {
  const paths = new Set<string>();
  for (const line of readFileSync("/proc/net/unix", "latin1").split("\n").slice(1)) {
    const path = line.trim().split(/\s+/)[7];
    if (path?.startsWith("/")) paths.add(path);
  }
  return paths;
}

function shellQuote(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
