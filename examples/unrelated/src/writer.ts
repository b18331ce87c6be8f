/**
 * P2, the writer of two unrelated processes that share a file: it maps FILE shared and copies a
 * message, with its NUL, to the start of the mapping. The reader (P3) maps the same file later and
 * prints it: the message lives in the file, so the two never need to run at the same time.
 *
 * Differs from the C:
 * - The file is created if missing and grown to the mapped size if smaller (never shrunk): the C
 *   maps 4000 bytes of whatever the file holds, and touching mapped pages past the end of a file
 *   raises SIGBUS.
 * - The message is stored as UTF-8 bytes and must fit with its NUL; one that does not is refused
 *   before the file is touched (the C copies a fixed-size buffer whatever the message's length).
 * - A path that is not a regular file (a directory, a FIFO) is refused with a message naming it.
 * - A symbolic link at FILE is refused, not followed, and a missing FILE is created with O_EXCL: in a
 *   folder others can write to (/tmp), another user's link would make this program write, or create
 *   a file, wherever it points (see owned-files.ts in @linux-ipc/programs).
 * - --mode sets the mode a new file gets (less the umask); the C's 0666 is the default, which lets every user read
 *   and write the message unless the umask takes that away.
 */
import { parseCommand, runMain, openOrCreateOwnFile } from "@linux-ipc/programs";
import { O_RDWR, close, ftruncate, getpid, mmap, MAP_SHARED, PROT_READ, PROT_WRITE, type Mapping, storeCString } from "@linux-ipc/core";
import { MESSAGE_AREA_SIZE } from "./message-area.ts";

await runMain("writer", () => {
  const spec = {
    name: "writer",
    summary: "Map FILE shared and write a message, with its NUL, at its start (P2); reader prints it.",
    positionals: ["FILE"],
    options: {
      message: { type: "string", value: "TEXT", description: "the message (default: I am the writer, pid <pid>)" },
      mode: { type: "mode", value: "MODE", description: "octal mode of a file it creates, less the umask (0600: this user only)", default: 0o666 },
    },
    details: `FILE is created (mode 0666 less the umask) if missing and grown to ${MESSAGE_AREA_SIZE} bytes if smaller. A symbolic link at FILE is refused.`,
  } as const;
  const { values, positionals } = parseCommand(spec);
  const mode = values.mode;
  const path = positionals[0]!;
  const message = values.message ?? `I am the writer, pid ${getpid()}`;
  const length = Buffer.byteLength(message, "utf8");
  if (length + 1 > MESSAGE_AREA_SIZE) {
    throw new Error(`the message is ${length} bytes; with its NUL it does not fit in the ${MESSAGE_AREA_SIZE}-byte message area`);
  }

  const { fd, stat } = openOrCreateOwnFile(path, O_RDWR, mode);
  let mapping: Mapping;
  try {
    if (stat.size < MESSAGE_AREA_SIZE) ftruncate(fd, MESSAGE_AREA_SIZE);
    mapping = mmap(MESSAGE_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, { path });
  } finally {
    close(fd); // the mapping holds its own reference to the file
  }

  storeCString(mapping.bytes, message, "the message");
  mapping.unmap();
  console.log(`writer ${getpid()} wrote ${length} bytes and a NUL to ${path}`);
});
