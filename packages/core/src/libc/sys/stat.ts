/** <sys/stat.h>: fstat, mkfifo and the file type tests. */
import { checkFd, checkPath, checkUint32 } from "../../ffi/checks.ts";
import { koffi, libc } from "../../ffi/libc.ts";
import { check } from "../errno.ts";
import { Timespec } from "../time.ts";

const timespec = Timespec.type;

/** glibc's `struct stat` for this architecture (x86_64 has its own; arm64 uses the generic layout). */
export const struct_stat =
  process.arch === "x64"
    ? koffi.struct("stat", {
        st_dev: "uint64_t",
        st_ino: "uint64_t",
        st_nlink: "uint64_t",
        st_mode: "uint32_t",
        st_uid: "uint32_t",
        st_gid: "uint32_t",
        __pad0: "int32_t",
        st_rdev: "uint64_t",
        st_size: "int64_t",
        st_blksize: "int64_t",
        st_blocks: "int64_t",
        st_atim: timespec,
        st_mtim: timespec,
        st_ctim: timespec,
        __glibc_reserved: koffi.array("int64_t", 3),
      })
    : koffi.struct("stat", {
        st_dev: "uint64_t",
        st_ino: "uint64_t",
        st_mode: "uint32_t",
        st_nlink: "uint32_t",
        st_uid: "uint32_t",
        st_gid: "uint32_t",
        st_rdev: "uint64_t",
        __pad1: "uint64_t",
        st_size: "int64_t",
        st_blksize: "int32_t",
        __pad2: "int32_t",
        st_blocks: "int64_t",
        st_atim: timespec,
        st_mtim: timespec,
        st_ctim: timespec,
        __glibc_reserved: koffi.array("int32_t", 2),
      });

interface RawTimespec {
  tv_sec: number | bigint;
  tv_nsec: number | bigint;
}

interface RawStat {
  st_dev: number | bigint;
  st_ino: number | bigint;
  st_nlink: number | bigint;
  st_mode: number;
  st_uid: number;
  st_gid: number;
  st_rdev: number | bigint;
  st_size: number | bigint;
  st_blksize: number | bigint;
  st_blocks: number | bigint;
  st_mtim: RawTimespec;
}

/** What `fstat` and `stat` return: the fields of `struct stat` as numbers. */
export interface Stat {
  /** The device holding the file. */
  dev: number;
  /** The inode number. */
  ino: number;
  /** The file type and permission bits (test the type with S_ISREG, S_ISFIFO…). */
  mode: number;
  /** The number of hard links. */
  nlink: number;
  /** The owner's user id. */
  uid: number;
  /** The owner's group id. */
  gid: number;
  /** The device number, for a device file. */
  rdev: number;
  /** The size in bytes (for a regular file). */
  size: number;
  /** The block size for efficient I/O. */
  blksize: number;
  /** The number of 512-byte blocks allocated (less than size/512 for a sparse file). */
  blocks: number;
  /** The last modification time, in milliseconds since the epoch. */
  mtimeMs: number;
}

const fstat_c = libc.func("int fstat(int fd, _Out_ stat *buf)");
const stat_c = libc.func("int stat(const char *path, _Out_ stat *buf)");
const mkfifo_c = libc.func("int mkfifo(const char *path, mode_t mode)");
const umask_c = libc.func("mode_t umask(mode_t mask)");

/** The file type bits of `mode`. */
export const S_IFMT = 0o170000;
/** File type: FIFO (named pipe). */
export const S_IFIFO = 0o010000;
/** File type: character device. */
export const S_IFCHR = 0o020000;
/** File type: directory. */
export const S_IFDIR = 0o040000;
/** File type: regular file. */
export const S_IFREG = 0o100000;
/** File type: socket. */
export const S_IFSOCK = 0o140000;
/** File type: block device. */
export const S_IFBLK = 0o060000;
/** File type: symbolic link. */
export const S_IFLNK = 0o120000;

/** Whether `mode` is a FIFO's. */
export const S_ISFIFO = (mode: number): boolean => (mode & S_IFMT) === S_IFIFO;
/** Whether `mode` is a character device's. */
export const S_ISCHR = (mode: number): boolean => (mode & S_IFMT) === S_IFCHR;
/** Whether `mode` is a directory's. */
export const S_ISDIR = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
/** Whether `mode` is a regular file's. */
export const S_ISREG = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
/** Whether `mode` is a socket's. */
export const S_ISSOCK = (mode: number): boolean => (mode & S_IFMT) === S_IFSOCK;

function fromRaw(raw: RawStat): Stat {
  return {
    dev: Number(raw.st_dev),
    ino: Number(raw.st_ino),
    mode: raw.st_mode,
    nlink: Number(raw.st_nlink),
    uid: raw.st_uid,
    gid: raw.st_gid,
    rdev: Number(raw.st_rdev),
    size: Number(raw.st_size),
    blksize: Number(raw.st_blksize),
    blocks: Number(raw.st_blocks),
    mtimeMs: Number(raw.st_mtim.tv_sec) * 1000 + Number(raw.st_mtim.tv_nsec) / 1e6,
  };
}

/**
 * fstat(2). Sizes are exact up to 2^53 bytes.
 *
 * @see https://man7.org/linux/man-pages/man2/stat.2.html
 */
export function fstat(fd: number): Stat {
  const raw = {} as RawStat;
  checkFd(fd);
  check(fstat_c(fd, raw) as number, "fstat");
  return fromRaw(raw);
}

/**
 * stat(2), following symbolic links.
 *
 * @see https://man7.org/linux/man-pages/man2/stat.2.html
 */
export function stat(path: string): Stat {
  const raw = {} as RawStat;
  checkPath(path);
  check(stat_c(path, raw) as number, "stat", { path });
  return fromRaw(raw);
}

/**
 * mkfifo(3): creates a FIFO special file (the umask applies to `mode`, as in C).
 *
 * @see https://man7.org/linux/man-pages/man3/mkfifo.3.html
 */
export function mkfifo(path: string, mode: number): void {
  checkPath(path);
  checkUint32(mode, "mode");
  check(mkfifo_c(path, mode) as number, "mkfifo", { path });
}

/**
 * umask(2): sets the file mode creation mask and returns the previous one.
 *
 * @see https://man7.org/linux/man-pages/man2/umask.2.html
 */
export function umask(mask: number): number {
  checkUint32(mask, "mask");
  return umask_c(mask) as number;
}

const typeNames: ReadonlyMap<number, string> = new Map([
  [S_IFREG, "a regular file"],
  [S_IFDIR, "a directory"],
  [S_IFIFO, "a FIFO"],
  [S_IFCHR, "a character device"],
  [S_IFBLK, "a block device"],
  [S_IFSOCK, "a socket"],
  [S_IFLNK, "a symbolic link"],
]);

/** What kind of file `mode` (st_mode) describes, as a phrase for messages: "a directory", "a FIFO"… */
export function fileTypeName(mode: number): string {
  return typeNames.get(mode & S_IFMT) ?? `a file of unknown type 0o${(mode & S_IFMT).toString(8)}`;
}
