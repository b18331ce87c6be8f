/**
 * FIFOs (named pipes) opened without holding a thread.
 *
 * A blocking open(2) of a FIFO waits until the other side opens it. Node's `fs.open` runs open(2) on
 * a libuv threadpool thread, so each pending FIFO open holds one of the pool's four threads: with four
 * pending, every later fs call, dns lookup or zlib job waits behind them, and a fifth FIFO open never
 * starts. The opens here return at once or wait on a timer, never in a thread:
 *
 * - For reading, open(O_RDONLY | O_NONBLOCK) succeeds at once. Linux reports neither data nor hang-up
 *   on such a reader until a writer has opened the FIFO and closed it again (the pipe counts the
 *   writers it has seen), so waiting for readability with epoll waits for the first writer's data,
 *   and end of file still means "every writer has come and gone", as after a blocking open.
 * - For writing, open(O_WRONLY | O_NONBLOCK) fails with ENXIO while nobody has the FIFO open for
 *   reading, and no event announces every reader: inotify reports IN_OPEN only once an open has
 *   returned, and a blocking reader (`cat fifo`) returns only after a writer has come. A reader that
 *   opens without blocking (as `openFifoForReading` does) is announced, though, so the open is retried
 *   on each IN_OPEN of the FIFO, read through an AsyncFd (pipe_io.ts), and also on a timer for the
 *   blocking readers: 1 ms after the first try, doubling up to `maxRetryMs` (50 ms by default).
 *   Measured on Node 20 / x86_64: one failed attempt costs about 18 µs, so a writer that waits for a
 *   reader costs at most 20 attempts a second (well under 0.1% of a core), and connects to a blocking
 *   reader at most 50 ms after it arrives. Opening with O_RDWR would not block either, but the writer
 *   would then be a reader of its own FIFO: no ENXIO, no EPIPE, and writes would pile up with nobody
 *   reading.
 *
 * Descriptors come back O_NONBLOCK and O_CLOEXEC: wrap them in an `AsyncFd` (pipe_io.ts) to read
 * and write them from the event loop.
 */
import { libc } from "../ffi/libc.ts";
import { open, O_RDONLY, O_WRONLY, O_NONBLOCK, O_CLOEXEC, O_NOFOLLOW } from "../libc/fcntl.ts";
import { close, unlink } from "../libc/unistd.ts";
import { fstat, stat, mkfifo, fileTypeName, S_ISFIFO } from "../libc/sys/stat.ts";
import { isSystemError } from "../libc/errno.ts";
import { AsyncFd } from "./pipe_io.ts";

const inotify_init1_c = libc.func("int inotify_init1(int flags)");
const inotify_add_watch_c = libc.func("int inotify_add_watch(int fd, const char *path, uint32_t mask)");
/** inotify event: the file was opened. */
const IN_OPEN = 0x20;

/** A path that had to be a FIFO is some other kind of file. */
export class NotAFifoError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_NOT_FIFO";
  /** The path that was expected to be a FIFO. */
  readonly path: string;
  /** What it is instead ("a directory", "a regular file", …). */
  readonly kind: string;
  constructor(path: string, kind: string) {
    super(`'${path}' is ${kind}, not a FIFO`);
    this.path = path;
    this.kind = kind;
  }
}

/**
 * mkfifo(path, mode), or reuse the FIFO already at `path`. Returns true when this call created it (the
 * caller then owns it and should remove it). Anything else at the path is a NotAFifoError.
 */
export function createOrReuseFifo(path: string, mode: number): boolean {
  try {
    mkfifo(path, mode);
    return true;
  } catch (error) {
    if (!isSystemError(error, "EEXIST")) throw error;
  }
  const existing = stat(path);
  if (!S_ISFIFO(existing.mode)) throw new NotAFifoError(path, fileTypeName(existing.mode));
  return false;
}

/** unlink(path), unless it is already gone (removed by hand, say). Returns whether it removed it. */
export function removeFifoIfPresent(path: string): boolean {
  try {
    unlink(path);
    return true;
  } catch (error) {
    if (isSystemError(error, "ENOENT")) return false;
    throw error;
  }
}

function requireFifo(fd: number, path: string): number {
  const { mode } = fstat(fd);
  if (S_ISFIFO(mode)) return fd;
  close(fd);
  throw new NotAFifoError(path, fileTypeName(mode));
}

/** A FIFO that had to belong to a given user belongs to another. */
export class ForeignFifoError extends Error {
  /** Tells this error apart from a SystemError. */
  readonly code = "ERR_FOREIGN_FIFO";
  /** The FIFO's path. */
  readonly path: string;
  /** Its owner. */
  readonly uid: number;
  /** The owner it had to have. */
  readonly expectedUid: number;
  constructor(path: string, uid: number, expectedUid: number) {
    super(`'${path}' is a FIFO of uid ${uid}, not of uid ${expectedUid}`);
    this.path = path;
    this.uid = uid;
    this.expectedUid = expectedUid;
  }
}

/** Options of `openFifoForReading`. */
export interface OpenFifoForReadingOptions {
  /** Refuse a symbolic link at `path` (ELOOP) rather than follow it. */
  noFollow?: boolean;
  /**
   * The uid the FIFO must belong to, checked on the open descriptor (so no rename between a check
   * and the open can swap it): in a folder others can write to, a FIFO someone else made is one
   * they can read and write at will.
   */
  owner?: number;
}

/** Opens a FIFO for reading without waiting for a writer (see the module comment for why that is safe). */
export function openFifoForReading(path: string, options: OpenFifoForReadingOptions = {}): number {
  const fd = requireFifo(open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (options.noFollow ? O_NOFOLLOW : 0)), path);
  if (options.owner !== undefined) {
    const { uid } = fstat(fd);
    if (uid !== options.owner) {
      close(fd);
      throw new ForeignFifoError(path, uid, options.owner);
    }
  }
  return fd;
}

/**
 * Opens a FIFO for writing if some process has it open for reading; null (ENXIO) if none has. With
 * `noFollow`, a symbolic link at `path` is refused (ELOOP) rather than followed: for a path built
 * from what another process said, which must not be able to point the writes elsewhere.
 */
export function tryOpenFifoForWriting(path: string, options: { noFollow?: boolean } = {}): number | null {
  try {
    return requireFifo(open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | (options.noFollow ? O_NOFOLLOW : 0)), path);
  } catch (error) {
    if (!isSystemError(error, "ENXIO")) throw error;
    // open(2) also fails with ENXIO on a UNIX socket (and on a device with no driver behind it): only
    // for a FIFO does it mean "no reader yet", so anything else is reported, never retried for ever.
    // stat follows a link as open just did (lstat would call a link to a FIFO "a symbolic link").
    const { mode } = stat(path);
    if (!S_ISFIFO(mode)) throw new NotAFifoError(path, fileTypeName(mode));
    return null;
  }
}

/** Options of `openFifoForWriting`. */
export interface OpenFifoForWritingOptions {
  /** Stops waiting: the promise rejects with the signal's reason and nothing stays open. */
  signal?: AbortSignal;
  /** The longest pause between two attempts, in milliseconds (default 50). */
  maxRetryMs?: number;
}

/**
 * An inotify descriptor that reports each open of the FIFO at `path`, or null when none can be made
 * (the user's 128 inotify instances are in use, say): the timer alone then notices readers.
 */
function watchOpens(path: string): AsyncFd | null {
  const fd = inotify_init1_c(O_NONBLOCK | O_CLOEXEC) as number;
  if (fd < 0) return null;
  if ((inotify_add_watch_c(fd, path, IN_OPEN) as number) < 0) {
    close(fd);
    return null;
  }
  return new AsyncFd(fd);
}

/**
 * Opens a FIFO for writing once a reader has it open, as a blocking open(O_WRONLY) would, but with
 * the thread free: the nonblocking open is retried on each IN_OPEN of the FIFO and on a timer while
 * it fails with ENXIO on a FIFO (see the module comment). Other failures (ENOENT, EACCES, not a FIFO,
 * a UNIX socket's ENXIO) reject at once.
 *
 * @see https://man7.org/linux/man-pages/man7/fifo.7.html
 * @see https://man7.org/linux/man-pages/man7/inotify.7.html
 */
export function openFifoForWriting(path: string, options: OpenFifoForWritingOptions = {}): Promise<number> {
  const { signal, maxRetryMs = 50 } = options;
  return new Promise<number>((resolve, reject) => {
    let delay = 1;
    let timer: NodeJS.Timeout | undefined;
    /** The inotify watch: undefined until the first failed attempt, null if none could be made. */
    let opens: AsyncFd | null | undefined;
    let done = false;
    const events = new Uint8Array(4096);
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      opens?.close();
    };
    const onAbort = (): void => {
      finish();
      reject(signal!.reason);
    };
    const attempt = (): void => {
      if (done) return;
      let fd: number | null;
      try {
        fd = tryOpenFifoForWriting(path);
      } catch (error) {
        finish();
        reject(error);
        return;
      }
      if (fd !== null) {
        finish();
        resolve(fd);
        return;
      }
      if (opens === undefined) {
        opens = watchOpens(path);
        if (opens !== null) {
          listen(opens);
          // A reader that came between the failed open and the watch raised no event.
          attempt();
          return;
        }
      }
      clearTimeout(timer);
      timer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, maxRetryMs);
    };
    // What the events say does not matter: any open of the FIFO is worth another try. A read that
    // fails (closed by finish, say) leaves the timer to go on alone.
    const listen = (watch: AsyncFd): void => {
      watch.read(events).then(
        () => {
          if (done) return;
          listen(watch);
          attempt();
        },
        () => {},
      );
    };
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    attempt();
  });
}
