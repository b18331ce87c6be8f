/**
 * copy (P4): copies SRC to DST through two memory mappings, as the tutorial's C does (c/copy.c):
 * map SRC, create DST and set its size with ftruncate, map it, copy the bytes from one mapping to the
 * other with one memory copy (`copyFrom`, the C's memcpy), unmap both. safe-copy.ts is the same copy
 * made safe to use as `cp` is (windows, sparse files, a full disk, a temporary file).
 *
 * What differs from the C, and why:
 * - SRC and DST are arguments (the C copies fixed names).
 * - SRC is opened read-only and mapped PROT_READ (the C opens it read-write for no reason, and so
 *   fails on a file it may only read), and must be a regular file.
 * - The size is a 64-bit number from fstat (the C keeps it in an int, wrong past 2 GiB).
 * - A 0-byte SRC gives a 0-byte DST (the C's mmap of 0 bytes fails with EINVAL).
 * - A failure prints one line and exits 1 (the C exits 0 whatever happened).
 * As in the C, DST is sized before the copy (a larger DST is shrunk), both files are mapped whole,
 * and a failure half-way leaves DST half-written: safe-copy avoids all three.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { open, O_RDONLY, O_RDWR, O_CREAT, close, ftruncate, mmap, MAP_SHARED, PROT_READ, PROT_WRITE, openRegularFile } from "@linux-ipc/core";

await runMain("copy", () => {
  const { positionals } = parseCommand({
    name: "copy",
    summary: "P4: copy SRC to DST through two memory mappings, as the tutorial does.",
    positionals: ["SRC", "DST"],
    options: {},
    details: "DST is created (mode 0644 less the umask) or overwritten, and set to SRC's size first. safe-copy does the same copy as safely as cp.",
  });
  const [source, destination] = positionals as [string, string];

  const { fd: from, stat } = openRegularFile(source, O_RDONLY);
  try {
    const to = open(destination, O_RDWR | O_CREAT, 0o644);
    try {
      ftruncate(to, stat.size);
      if (stat.size === 0) return; // nothing to map: a mapping of 0 bytes is EINVAL
      using src = mmap(stat.size, PROT_READ, MAP_SHARED, from, 0, { path: source });
      using dst = mmap(stat.size, PROT_READ | PROT_WRITE, MAP_SHARED, to, 0, { path: destination });
      dst.copyFrom(src);
    } finally {
      close(to);
    }
  } finally {
    close(from);
  }
});
