// Reads test messages (see memory.ts) from the ring in MEMORY until the stream ends, checking each
// stream's sequence and contents; prints "attached", then "received N streams S errors E" (E is 0
// when every message arrived once, in order, intact). A PeerGoneError prints "peer gone: <message>".
import { Ring, PeerGoneError } from "../ring.ts";
import { openMemory, checkMessage } from "./memory.ts";

const [spec, maxSize, mode = "sync"] = process.argv.slice(2) as [string, string, string?];
using memory = openMemory(spec);
using reader = Ring.attach(memory).reader();
console.log("attached");
const next = new Map<number, number>();
let received = 0;
let errors = 0;
try {
  for (;;) {
    const length = mode === "async" ? await reader.peekAsync() : reader.peek();
    if (length < 0) break;
    const { seq, stream, error } = checkMessage(reader.data, reader.offset, length, Number(maxSize));
    reader.release();
    if (error !== null || seq !== (next.get(stream) ?? 0)) {
      if (errors++ < 5) console.log(`bad: ${error ?? `expected message ${next.get(stream) ?? 0} of stream ${stream}, got ${seq}`}`);
    }
    next.set(stream, seq + 1);
    received++;
  }
  console.log(`received ${received} streams ${next.size} errors ${errors}`);
} catch (error) {
  if (!(error instanceof PeerGoneError)) throw error;
  console.log(`peer gone: ${error.message}`);
  process.exitCode = 3;
}
