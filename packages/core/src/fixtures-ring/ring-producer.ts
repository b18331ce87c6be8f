// Writes COUNT test messages (see memory.ts) of stream STREAM into the ring in MEMORY, then closes.
// Prints "attached" once it holds a producer slot, and "done" after close; a PeerGoneError is
// printed as "peer gone: <message>" (exit 3).
import { Ring, PeerGoneError } from "../ring.ts";
import { openMemory, fillMessage, messageLength } from "./memory.ts";

const [spec, count, maxSize, stream = "0", mode = "sync"] = process.argv.slice(2) as [string, string, string, string?, string?];
using memory = openMemory(spec);
const ring = Ring.attach(memory);
using writer = ring.writer();
console.log("attached");
try {
  for (let seq = 0; seq < Number(count); seq++) {
    const length = messageLength(seq, Number(stream), Number(maxSize));
    const at = mode === "async" ? await writer.reserveAsync(length) : writer.reserve(length);
    fillMessage(writer.data, at, length, seq, Number(stream));
    writer.commit();
  }
  writer.close();
  console.log("done");
} catch (error) {
  if (!(error instanceof PeerGoneError)) throw error;
  console.log(`peer gone: ${error.message}`);
  process.exitCode = 3;
}
