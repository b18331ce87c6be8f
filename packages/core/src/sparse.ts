/**
 * Sparse files: where a file's data is (lseek with SEEK_DATA / SEEK_HOLE, <unistd.h>) and reserving
 * its disk blocks ahead of time (fallocate, <fcntl.h>).
 *
 * Both matter to anything that writes a file through a mapping: a page of a shared file mapping
 * gets its disk block only when it is first written, and if the disk is full then, the write
 * cannot fail like write(2) would: the process dies of SIGBUS. Reserving the blocks first with
 * fallocate turns that into an ordinary ENOSPC error. Finding the data regions lets a copy skip the
 * holes, so a sparse file stays sparse and is copied in the time its data takes.
 */
import { libc } from "./libc.ts";
import { check, isSystemError } from "./errno.ts";
import { lseek } from "./unistd.ts";

/** lseek whence: the next offset at or after `offset` that holds data (ENXIO past the last data). */
export const SEEK_DATA = 3;
/** lseek whence: the next offset at or after `offset` in a hole (the end of the file counts as one). */
export const SEEK_HOLE = 4;

/** fallocate mode: allocate without changing the file's size. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** fallocate mode: deallocate the range, leaving a hole (needs FALLOC_FL_KEEP_SIZE). */
export const FALLOC_FL_PUNCH_HOLE = 0x02;

const fallocate_c = libc.func("int fallocate(int fd, int mode, off_t offset, off_t len)");

/**
 * fallocate(2): with mode 0, allocates disk blocks for `length` bytes at `offset` (growing the file
 * if the range ends past it), so later writes there, mapped writes included, cannot run out of
 * space. Throws ENOSPC when the disk is full, EOPNOTSUPP where the file system cannot do it.
 */
export function fallocate(fd: number, mode: number, offset: number, length: number, path?: string): void {
  check(fallocate_c(fd, mode, offset, length) as number, "fallocate", path === undefined ? undefined : { path });
}

/** A range of a file that holds data: `start` inclusive, `end` exclusive. */
export interface DataRegion {
  start: number;
  end: number;
}

/**
 * The first region holding data at or after `offset`, or null when only holes (or nothing) follow.
 * On a file system that does not track holes, the whole file is one region; one that does not
 * implement SEEK_DATA at all (EINVAL: /proc, some network file systems) is treated the same way.
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
