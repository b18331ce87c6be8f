// Checks, as an ES module (`import`): a System V segment created under an unused key holds a
// struct Conn_stat { int count; char ip[64]; } (68 bytes, defineStruct) written here, and a second
// node process (segment-reader.mjs, started with @linux-ipc/testing's runProgram) that opens the
// segment by its key prints exactly that record. The segment is removed whatever happens.
import { fileURLToPath } from "node:url";
import { SharedMemorySegment, defineStruct } from "@linux-ipc/core";
import { runProgram, unusedIpcKey } from "@linux-ipc/testing";

const ConnStat = defineStruct("Conn_stat_copy", { count: "int32", ip: { char: 64 } });
if (ConnStat.size !== 68 || ConnStat.offsets.ip !== 4) throw new Error(`struct Conn_stat: size ${ConnStat.size}, ip at ${ConnStat.offsets.ip}; C says 68 and 4`);

const key = unusedIpcKey(); // unusedShmKey before the split; exports.mjs checks that name
const segment = SharedMemorySegment.create(key, ConnStat.size, 0o600);
try {
  const attachment = segment.attach();
  const stat = ConnStat.at(attachment.bytes);
  stat.count = process.pid;
  stat.ip = `10.${process.pid % 256}.0.1`;
  const expected = `count=${stat.count} ip=${stat.ip}`;
  attachment.detach();

  const reader = fileURLToPath(new URL("./segment-reader.mjs", import.meta.url));
  const result = await runProgram(reader, ["key", String(key)], { timeoutMs: 30_000 });
  const printed = result.stdout.trim();
  if (result.code !== 0 || printed !== expected) {
    throw new Error(`the reader (exit ${result.code}, signal ${result.signal}) printed '${printed}', expected '${expected}'\n${result.stderr}`);
  }
  console.log(`read back by key 0x${key.toString(16)}: ${printed}`);
} finally {
  segment.remove();
}
