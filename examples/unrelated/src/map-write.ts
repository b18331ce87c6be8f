/**
 * P7, map_write: keeps a `struct Conn_stat { int count; char ip[64]; }` in FILE through a shared
 * mapping, sets it to {0, "127.0.0.1"} and adds one to `count` every interval until it reaches
 * --max. Any process that maps FILE (map-read, P8) sees the count change in place.
 *
 * Differs from the C:
 * - FILE is opened without O_TRUNC: ftruncate alone sets its size to exactly sizeof(struct
 *   Conn_stat). O_TRUNC would first cut the file to 0 bytes, and a map-read running at that moment
 *   would read past the end of the file and die of SIGBUS.
 * - It prints `count: N` after each step (the C prints nothing), so a learner, and the tests, can
 *   follow it; --max and --interval are options (the C's 30 and 1 s are the defaults), and it does
 *   not sleep once more after the last step.
 * - A symbolic link at FILE is refused, not followed, and a missing FILE is created with O_EXCL: in a
 *   folder others can write to (/tmp), another user's link would make this program write, or create
 *   a file, wherever it points (see owned-files.ts in @linux-ipc/programs).
 * - --mode sets the mode a new file gets (less the umask); the C's 0644 is the default, which lets every user read the
 *   count (not change it).
 * - Usage errors and failures exit with code 1 (the C uses 1 to 4 for its different failures).
 */
import { parseCommand, runMain, ConnStat, openOrCreateOwnFile } from "@linux-ipc/programs";
import { sleep, MAX_TIMER_MS, O_RDWR, close, ftruncate, mmap, MAP_SHARED, PROT_READ, PROT_WRITE, type Mapping } from "@linux-ipc/core";

const INT32_MAX = 2 ** 31 - 1;

await runMain("map-write", async () => {
  const spec = {
    name: "map-write",
    summary: "Store a struct Conn_stat in FILE through a shared mapping and count up once an interval (P7).",
    positionals: ["FILE"],
    options: {
      max: { type: "integer", value: "N", description: "stop when count reaches N", default: 30, min: 0, max: INT32_MAX },
      interval: { type: "integer", value: "MS", description: "milliseconds between steps", default: 1000, min: 0, max: MAX_TIMER_MS },
      mode: { type: "mode", value: "MODE", description: "octal mode of a file it creates, less the umask (0600: this user only)", default: 0o644 },
    },
    details: `FILE is created (mode 0644 less the umask) if missing and set to exactly ${ConnStat.size} bytes. A symbolic link at FILE is refused.`,
  } as const;
  const { values, positionals } = parseCommand(spec);
  const mode = values.mode;
  const path = positionals[0]!;

  const { fd } = openOrCreateOwnFile(path, O_RDWR, mode);
  let mapping: Mapping;
  try {
    ftruncate(fd, ConnStat.size);
    mapping = mmap(ConnStat.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, { path });
  } finally {
    close(fd); // the mapping holds its own reference to the file
  }

  // As the C's memcpy of {0, "127.0.0.1"}: every byte of the struct set, the rest of ip[] zero.
  mapping.bytes.fill(0, 0, ConnStat.size);
  const stat = mapping.struct(ConnStat);
  stat.ip = "127.0.0.1";
  console.log(`mapped struct Conn_stat (${ConnStat.size} bytes) from ${path}: ip = ${stat.ip}, count: ${stat.count}`);
  while (stat.count < values.max) {
    stat.count++;
    console.log(`count: ${stat.count}`);
    if (stat.count < values.max) await sleep(values.interval);
  }
  mapping.unmap();
});
