/**
 * safe-copy: P4's copy through memory mappings (copy.ts is the tutorial's program) made safe to use
 * as `cp` is: SRC is mapped read-only, the copy is made in windows, and the bytes go from one
 * mapping to the other with one memory copy per window, the C's memcpy (`copyFrom`: one call into
 * the C library per window, with no JavaScript view made of either mapping).
 *
 * What it adds to copy.ts (which maps both files whole, as the C does), and why:
 * - Sizes are 64-bit numbers (the C keeps the size in an int, so it fails past 2 GiB).
 * - It maps and copies one window at a time (32 MiB; FILECOPY_WINDOW_BYTES sets another multiple
 *   of the page size) and unmaps each window before the next, so memory stays bounded whatever the
 *   file's size: mapped file pages count in the process's resident memory while mapped.
 * - Only the data of SRC is copied: the holes of a sparse file (found with lseek SEEK_DATA /
 *   SEEK_HOLE) stay holes in DST, which reads the same and takes no disk space for them.
 * - DST's disk blocks are reserved with fallocate before a window is written: a write through a
 *   mapping that finds the disk full cannot fail like write(2); the process would die of SIGBUS.
 * - SRC is opened O_RDONLY and mapped PROT_READ (the C asks for write access it does not need) and
 *   must be a regular file. A SRC whose size reads 0 is copied with read and write instead (a
 *   mapping of 0 bytes is EINVAL): an empty file gives an empty DST, and the files of /proc and
 *   /sys, whose size reads 0 whatever they hold, are copied whole.
 * - fallocate failing with EOPNOTSUPP (errno 95, named ENOTSUP by Node) means the file system
 *   cannot reserve blocks: the copy goes on without the reservation.
 * - The copy is written to a temporary file in DST's folder (with SRC's permission bits, less the
 *   umask) and renamed over DST only once complete: a failure or a SIGINT/SIGTERM leaves no partial
 *   file and an existing DST untouched (copy.ts, like the C, sizes DST in place first and so has
 *   already shrunk or emptied it when the copy fails). An existing DST is replaced by a new file (a symbolic link is
 *   followed, and the file it points to is replaced).
 * - Copying a file onto itself (the same path, a hard link, a symbolic link) is refused.
 * - When stderr is a terminal and the file spans at least 8 windows, a progress line (bytes, rate,
 *   time left) is kept up to date on stderr.
 */
import { lstatSync, readdirSync, realpathSync, renameSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { onTerminationSignal, parseCommand, parseInteger, runMain } from "@linux-ipc/programs";
import {
  isSystemError,
  strerror,
  read,
  writeAll,
  open,
  O_RDONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  close,
  ftruncate,
  unlink,
  PAGE_SIZE,
  fileTypeName,
  stat,
  S_ISDIR,
  S_ISREG,
  type Stat,
  mmap,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  MADV_SEQUENTIAL,
  openRegularFile,
  dataRegion,
  fallocate,
  isProcessAlive,
} from "@linux-ipc/core";

const MiB = 1024 * 1024;
const DEFAULT_WINDOW = 32 * MiB;
const WINDOW_VARIABLE = "FILECOPY_WINDOW_BYTES";
const PROGRESS_MIN_WINDOWS = 8;
const PROGRESS_EVERY_MS = 200;
const PERMISSION_BITS = 0o777;

await runMain("safe-copy", async () => {
  const { positionals } = parseCommand({
    name: "safe-copy",
    summary: "Copy SRC to DST through memory mappings, one window at a time, as safely as cp (P4 made safe).",
    positionals: ["SRC", "DST"],
    options: {},
    details: [
      `DST is created with SRC's permission bits, or replaced, and ends exactly SRC's size.`,
      `Environment: ${WINDOW_VARIABLE}=N maps N bytes of each file at a time (a multiple of ${PAGE_SIZE}; default ${DEFAULT_WINDOW}).`,
    ].join("\n"),
  });
  const [source, destination] = positionals as [string, string];
  const window = windowSize();

  const { fd: src, stat: sourceStat } = openRegularFile(source, O_RDONLY);
  try {
    const target = checkDestination(source, sourceStat, destination);
    await copyThroughTemporaryFile(src, sourceStat, target, window);
  } finally {
    close(src);
  }
});

/** The window size from the environment, or the default. */
function windowSize(): number {
  const text = process.env[WINDOW_VARIABLE];
  if (text === undefined || text === "") return DEFAULT_WINDOW;
  let value = Number.NaN;
  try {
    value = parseInteger(text, WINDOW_VARIABLE);
  } catch {
    // reported below, with what a valid value is
  }
  if (!(value > 0) || value % PAGE_SIZE !== 0) {
    throw new Error(`${WINDOW_VARIABLE} must be a positive multiple of the page size (${PAGE_SIZE}), not '${text}'`);
  }
  return value;
}

/**
 * Refuses a destination that is the source itself or not a regular file, or whose folder is
 * missing. Returns the path to replace: the destination, or the file an existing symbolic link
 * points to.
 */
function checkDestination(source: string, sourceStat: Stat, destination: string): string {
  if (destination === "") throw new Error("the destination is an empty path");
  let existing: Stat | null = null;
  try {
    existing = stat(destination);
  } catch (error) {
    if (!isSystemError(error, "ENOENT") && !isSystemError(error, "ENOTDIR")) throw error;
  }
  if (existing !== null) {
    if (existing.dev === sourceStat.dev && existing.ino === sourceStat.ino) {
      throw new Error(`'${source}' and '${destination}' are the same file: refusing to copy a file onto itself`);
    }
    if (!S_ISREG(existing.mode)) throw new Error(`'${destination}' is ${fileTypeName(existing.mode)}, not a regular file`);
    return realpathSync(destination);
  }
  if (isDanglingLink(destination)) {
    // As cp does: writing through a link to nothing would create a file where the link points.
    throw new Error(`'${destination}' is a symbolic link to a file that does not exist: not writing through it`);
  }
  if (destination.endsWith("/")) throw new Error(`the destination folder '${destination}' does not exist`);
  const folder = dirname(destination);
  let folderStat: Stat;
  try {
    folderStat = stat(folder);
  } catch (error) {
    if (isSystemError(error, "ENOENT") || isSystemError(error, "ENOTDIR")) throw new Error(`the destination folder '${folder}' does not exist`);
    throw error;
  }
  if (!S_ISDIR(folderStat.mode)) throw new Error(`the destination folder '${folder}' is ${fileTypeName(folderStat.mode)}, not a folder`);
  return destination;
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Removes the temporary files that copies to `target` left when they were killed without a chance to
 * clean up (SIGKILL, a crash, a power cut): `.NAME.copy-PID-HEX` whose PID no longer runs. A copy
 * still running keeps its file. Each removal is said on stderr.
 */
function removeDeadCopies(folder: string, target: string): void {
  const prefix = `.${basename(target)}.copy-`;
  for (const name of readdirSync(folder)) {
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1] ?? 0) : 0;
    if (pid === 0 || isProcessAlive(pid)) continue;
    try {
      unlink(join(folder, name));
      process.stderr.write(`safe-copy: removed '${join(folder, name)}', left by a copy (pid ${pid}) that was killed\n`);
    } catch (error) {
      if (!isSystemError(error, "ENOENT")) throw error;
    }
  }
}

/** Copies into a new temporary file beside `target`, then renames it over `target`. */
async function copyThroughTemporaryFile(src: number, sourceStat: Stat, target: string, window: number): Promise<void> {
  const folder = dirname(target);
  removeDeadCopies(folder, target);
  const temporary = join(folder, `.${basename(target)}.copy-${process.pid}-${randomBytes(4).toString("hex")}`);
  const removeTemporary = (): void => {
    try {
      unlink(temporary);
    } catch {
      // not created yet, or already gone
    }
  };
  // Registered before the file exists: a signal that arrives as it is created still finds the handler.
  const stopCleanup = onTerminationSignal(removeTemporary);
  let dst: number;
  try {
    dst = open(temporary, O_RDWR | O_CREAT | O_EXCL, sourceStat.mode & PERMISSION_BITS);
  } catch (error) {
    stopCleanup();
    if (isSystemError(error)) throw new Error(`cannot create a file in '${folder}': ${strerror(error.errno)}`);
    throw error;
  }
  try {
    if (sourceStat.size === 0) copyByReading(src, dst);
    else {
      ftruncate(dst, sourceStat.size);
      await copyData(src, dst, sourceStat.size, window, target);
    }
    close(dst);
    dst = -1;
    try {
      renameSync(temporary, target);
    } catch (error) {
      throw new Error(`cannot put the copy in place as '${target}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  } catch (error) {
    if (dst !== -1) close(dst);
    removeTemporary();
    throw error;
  } finally {
    stopCleanup();
  }
}

/**
 * Copies `src` into `dst` with read and write, to its end of file. For a source whose size reads 0:
 * the files of /proc and /sys are made as they are read and say 0 bytes though they have content,
 * which a mapping of their size would never see (an empty file simply reads nothing).
 */
function copyByReading(src: number, dst: number): void {
  const buffer = new Uint8Array(64 * 1024);
  for (let count = read(src, buffer); count > 0; count = read(src, buffer)) writeAll(dst, buffer.subarray(0, count));
}

/** Copies every data region of `src` into `dst` (already `size` bytes long), window by window. */
async function copyData(src: number, dst: number, size: number, window: number, target: string): Promise<void> {
  const progress = progressLine(size, process.stderr.isTTY === true && size >= PROGRESS_MIN_WINDOWS * window);
  for (let region = dataRegion(src, 0, size); region !== null && region.start < size; region = dataRegion(src, region.end, size)) {
    const end = Math.min(region.end, size);
    reserveBlocks(dst, region.start, end - region.start, target);
    // mmap offsets are multiples of the page size: start at the page that holds region.start.
    for (let offset = region.start - (region.start % PAGE_SIZE); offset < end; offset += window) {
      const length = Math.min(window, end - offset);
      using from = mmap(length, PROT_READ, MAP_SHARED, src, offset);
      from.advise(MADV_SEQUENTIAL);
      using to = mmap(length, PROT_READ | PROT_WRITE, MAP_SHARED, dst, offset);
      to.copyFrom(from);
      progress.update(offset + length);
      // Between windows the event loop runs: a SIGINT or SIGTERM handler can remove the temporary file.
      await nextTurn();
    }
  }
  progress.finish();
}

/** fallocate, where the file system can: elsewhere a full disk still ends the copy with SIGBUS. */
function reserveBlocks(fd: number, offset: number, length: number, target: string): void {
  try {
    fallocate(fd, 0, offset, length, target);
  } catch (error) {
    if (!isSystemError(error, "EOPNOTSUPP")) throw error;
  }
}

/**
 * The progress line, redrawn in place: `safe-copy: 1.50 GiB of 5.00 GiB (30%), 812.4 MiB/s, 4 s left`.
 * Nothing is written when it is not enabled.
 */
function progressLine(total: number, enabled: boolean): { update(done: number): void; finish(): void } {
  const started = performance.now();
  let shownAt = started;
  const show = (done: number, rate: number, tail: string): void => {
    const percent = Math.floor((100 * done) / total);
    process.stderr.write(`\rsafe-copy: ${formatBytes(done)} of ${formatBytes(total)} (${percent}%), ${formatBytes(rate)}/s, ${tail}\x1b[K`);
  };
  return {
    update(done) {
      const now = performance.now();
      if (!enabled || now - shownAt < PROGRESS_EVERY_MS) return;
      shownAt = now;
      const rate = done / ((now - started) / 1000);
      show(done, rate, `${Math.ceil((total - done) / rate)} s left`);
    },
    finish() {
      if (!enabled) return;
      const seconds = (performance.now() - started) / 1000;
      show(total, total / seconds, `done in ${seconds.toFixed(1)} s`);
      process.stderr.write("\n");
    },
  };
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(unit === 3 ? 2 : 1)} ${units[unit]}`;
}
