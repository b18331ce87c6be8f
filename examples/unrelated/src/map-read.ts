/**
 * P8, map_read: maps the `struct Conn_stat` that map-write (P7) keeps in FILE, read-only, and prints
 * it --reads times, once an interval: `ip = 127.0.0.1 ,count: 3`. Nothing is copied: each line reads
 * the shared page as it is at that moment, so the count climbs while map-write runs.
 *
 * Differs from the C:
 * - A missing file, one smaller than the struct (its fields would lie past the end of the file,
 *   where a read raises SIGBUS), or a path that is not a regular file ends the program with exit
 *   code 1 and a message naming the file (the C exits 2 or 3, or dies of SIGBUS).
 * - The C's line ends with two tabs before the newline; they are left out. --reads and --interval
 *   are options (the C's 10 and 1 s are the defaults), and it does not sleep after the last line.
 */
import { parseCommand, runMain, ConnStat, formatConnStat } from "@linux-ipc/programs";
import { sleep, MAX_TIMER_MS, O_RDONLY, close, mmap, MAP_SHARED, PROT_READ, type Mapping, openRegularFile } from "@linux-ipc/core";

await runMain("map-read", async () => {
  const { values, positionals } = parseCommand({
    name: "map-read",
    summary: "Map the struct Conn_stat in FILE read-only and print it once an interval (P8).",
    positionals: ["FILE"],
    options: {
      reads: { type: "integer", value: "N", description: "how many lines to print", default: 10, min: 1 },
      interval: { type: "integer", value: "MS", description: "milliseconds between lines", default: 1000, min: 0, max: MAX_TIMER_MS },
    },
  });
  const path = positionals[0]!;

  const { fd, stat: info } = openRegularFile(path, O_RDONLY);
  let mapping: Mapping;
  try {
    if (info.size < ConnStat.size) {
      throw new Error(`'${path}' is ${info.size} bytes, too small for a struct Conn_stat (${ConnStat.size} bytes)`);
    }
    mapping = mmap(ConnStat.size, PROT_READ, MAP_SHARED, fd, 0, { path });
  } finally {
    close(fd);
  }

  const stat = mapping.struct(ConnStat);
  for (let read = 1; read <= values.reads; read++) {
    console.log(formatConnStat(stat));
    if (read < values.reads) await sleep(values.interval);
  }
  mapping.unmap();
});
