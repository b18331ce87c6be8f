// The consumer of the ring exchange (see ring-producer.mjs): maps the memfd it inherited as fd 3
// (LENGTH bytes), attaches as the ring's reader, prints "attached", reads until the producer
// closes, and prints one summary line: `received N lost L duplicated D corrupt C checksum S`.
// Exits 1 unless every message arrived once, in order, intact.
import { Ring, inheritedFds, mmap, MAP_SHARED, PROT_READ, PROT_WRITE } from "@linux-ipc/core";
import { MESSAGES, readMessage } from "./ring-message.mjs";

const [fd = 3] = inheritedFds();
const memory = mmap(Number(process.argv[2]), PROT_READ | PROT_WRITE, MAP_SHARED, fd);
const reader = Ring.attach(memory).reader();
console.log("attached");

const seen = new Uint8Array(MESSAGES);
let received = 0, duplicated = 0, corrupt = 0, outOfOrder = 0, sum = 0, next = 0;
for (;;) {
  const length = reader.peek({ timeoutMs: 15_000 }); // -1: the producer closed and all is read
  if (length < 0) break;
  const { seq, checksum, error } = readMessage(reader.data, reader.offset, length);
  reader.release();
  received++;
  if (error !== null || seq >= MESSAGES) {
    corrupt++;
    if (corrupt <= 5) console.error(`corrupt: ${error ?? `sequence number ${seq} out of range`}`);
    continue;
  }
  if (seen[seq]++) duplicated++;
  if (seq !== next) outOfOrder++;
  next = seq + 1;
  sum = (sum + checksum) >>> 0;
}
reader.close();
memory.unmap();
const lost = seen.reduce((count, times) => count + (times === 0 ? 1 : 0), 0);
if (outOfOrder) console.error(`${outOfOrder} messages out of order`);
console.log(`received ${received} lost ${lost} duplicated ${duplicated} corrupt ${corrupt} checksum ${sum}`);
if (lost || duplicated || corrupt || outOfOrder) process.exitCode = 1;
