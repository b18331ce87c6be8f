/**
 * Opening a path that must be a regular file, for the programs that map or copy files. A directory,
 * FIFO, socket or device given by mistake is refused with one sentence naming the path and what it
 * is, instead of failing later in mmap (ENODEV) or ftruncate (EINVAL) with a message that names
 * neither, or blocking: open(2) of a FIFO waits for the other side, so the open here adds
 * O_NONBLOCK (which changes nothing for a regular file, and is cleared once the file is known to be one).
 */
import { open, O_NONBLOCK, setNonBlocking } from "../libc/fcntl.ts";
import { close } from "../libc/unistd.ts";
import { fstat, fileTypeName, S_IFMT, S_IFREG, type Stat } from "../libc/sys/stat.ts";

/** Thrown when a path that must be a regular file is something else. */
export class NotRegularFileError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_NOT_REGULAR_FILE";
  /** The path that was expected to be a regular file. */
  readonly path: string;
  /** What it is instead. */
  readonly type: string;
  constructor(path: string, type: string) {
    super(`'${path}' is ${type}, not a regular file`);
    this.path = path;
    this.type = type;
  }
}

/**
 * open(2) of `path` with `flags` (and `mode` when they hold O_CREAT), then fstat: returns the
 * descriptor and the file's status, or closes the descriptor and throws NotRegularFileError when the
 * path is not a regular file. Errors of open itself are SystemErrors naming the path.
 */
export function openRegularFile(path: string, flags: number, mode = 0o666): { fd: number; stat: Stat } {
  const fd = open(path, flags | O_NONBLOCK, mode);
  try {
    const info = fstat(fd);
    if ((info.mode & S_IFMT) !== S_IFREG) throw new NotRegularFileError(path, fileTypeName(info.mode));
    if ((flags & O_NONBLOCK) === 0) setNonBlocking(fd, false);
    return { fd, stat: info };
  } catch (error) {
    close(fd);
    throw error;
  }
}
