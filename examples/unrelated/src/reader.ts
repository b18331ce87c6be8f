/**
 * P3, the reader of two unrelated processes that share a file: it maps FILE and prints the string
 * the writer (P2) left at its start, up to its NUL or the end of the 4000-byte message area.
 *
 * Differs from the C:
 * - The file is opened read-only and mapped PROT_READ: the reader only reads (the C asks for
 *   O_RDWR and PROT_WRITE, and so fails on a file it may not write).
 * - A file shorter than the message area is read to its end, as the C reads it (the rest of its last
 *   page reads as zeros), but only its own bytes are mapped. An empty file, where the C's first read
 *   raises SIGBUS, a missing file, or a path that is not a regular file ends the program with exit
 *   code 1 and a message naming the file.
 * - Line breaks inside the message are printed as \n and \r, so the output is always one line.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { O_RDONLY, close, mmap, MAP_SHARED, PROT_READ, type Mapping, openRegularFile, cStringBytes } from "@linux-ipc/core";
import { MESSAGE_AREA_SIZE } from "./message-area.ts";

await runMain("reader", () => {
  const { positionals } = parseCommand({
    name: "reader",
    summary: "Map FILE read-only and print the string at its start, up to its NUL (P3).",
    positionals: ["FILE"],
    options: {},
    details: `Reads at most the first ${MESSAGE_AREA_SIZE} bytes (the message area writer makes); FILE must not be empty.`,
  });
  const path = positionals[0]!;

  const { fd, stat } = openRegularFile(path, O_RDONLY);
  let mapping: Mapping;
  try {
    if (stat.size === 0) throw new Error(`'${path}' is empty: it holds no message`);
    mapping = mmap(Math.min(stat.size, MESSAGE_AREA_SIZE), PROT_READ, MAP_SHARED, fd, 0, { path });
  } finally {
    close(fd);
  }

  // Copied out before the unmap; printed as the bytes they are (as C's printf does), on one line.
  const message = Buffer.from(cStringBytes(mapping.read()));
  mapping.unmap();
  process.stdout.write(Buffer.concat([Buffer.from("read from the mapping: "), oneLine(message), Buffer.from("\n")]));
});

/** The message with its line breaks shown as \n and \r, so it stays on one line; other bytes as they are. */
function oneLine(message: Buffer): Buffer {
  const escaped: number[] = [];
  for (const byte of message) {
    if (byte === 0x0a) escaped.push(0x5c, 0x6e);
    else if (byte === 0x0d) escaped.push(0x5c, 0x72);
    else escaped.push(byte);
  }
  return Buffer.from(escaped);
}
