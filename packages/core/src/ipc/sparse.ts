/**
 * Sparse files: where a file's data is (lseek with SEEK_DATA / SEEK_HOLE, <unistd.h>) and reserving
 * its disk blocks ahead of time (fallocate, <fcntl.h>).
 *
 * Both matter to anything that writes a file through a mapping: a page of a shared file mapping
 * gets its disk block only when it is first written, and if the disk is full then, the write
 * cannot fail like write(2) would: the process dies of SIGBUS. Reserving the blocks first with
 * fallocate turns that into an ordinary ENOSPC error. Finding the data regions lets a copy skip the
 * holes, so a sparse file stays sparse and is copied in the time its data takes.
 *
 * `fallocate` and its FALLOC_FL_* modes are in libc/fcntl.ts, SEEK_DATA and SEEK_HOLE in
 * libc/unistd.ts; this module adds `dataRegion`.
 */
import { isSystemError } from "../libc/errno.ts";
import { lseek, SEEK_DATA, SEEK_HOLE } from "../libc/unistd.ts";

/** A range of a file that holds data: `start` inclusive, `end` exclusive. */
export interface DataRegion {
  /** The first byte holding data. */
  start: number;
  /** The byte after the region: the start of a hole, or the end of the file. */
  end: number;
}

/**
 * The first region holding data at or after `offset`, or null when only holes (or nothing) follow.
 * On a file system that does not track holes, the whole file is one region; one that does not
 * implement SEEK_DATA at all (EINVAL: /proc, some network file systems) is treated the same way.
 *
 * @see https://man7.org/linux/man-pages/man2/lseek.2.html
 */
export function dataRegion(fd: number, offset: number, size?: number): DataRegion | null {
  let start: number;
  try {
    start = lseek(fd, offset, SEEK_DATA);
  } catch (error) {
    if (isSystemError(error, "ENXIO")) return null;
    if (isSystemError(error, "EINVAL") && size !== undefined) return offset < size ? { start: offset, end: size } : null;
    throw error;
  }
  return { start, end: lseek(fd, start, SEEK_HOLE) };
}
