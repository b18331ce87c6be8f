/**
 * measure: a quick look at the ring's speed between two processes (not a test, not the benchmark).
 *
 * 1. Ping-pong: this process sends a 64-byte message through one ring, a child process copies it
 *    into a second ring, and this process waits for it: one round trip. Both sides spin (they never
 *    sleep on the futex), as a latency benchmark on two cores does. Prints the median and p99 of the
 *    single round trips (each timed with performance.now(), which adds about 0.05 µs) and their mean
 *    over the whole run (no timer inside).
 * 2. Stream: this process writes 64 KiB messages into a ring as fast as the child copies them out
 *    into its own buffer: bytes per second, each byte copied in and copied out once.
 *
 * The rings live in memfds the child inherits (any shared mapping would do).
 */
import { fileURLToPath } from "node:url";
import { endingWithParent, parseCommand, runMain } from "@linux-ipc/programs";
import { createSealedMemfd, mapSealedMemfd, type Mapping, close, inheritedFds, spawnWithFds, waitForExit, Ring } from "@linux-ipc/core";

const SPIN_FOREVER = { spinMicros: 60_000_000 };
const self = fileURLToPath(import.meta.url);

await runMain("measure", async () => {
  const { values } = parseCommand({
    name: "measure",
    summary: "Measures ring ping-pong latency and streaming throughput between two processes.",
    options: {
      rounds: { type: "integer", value: "N", description: "ping-pong round trips", default: 200_000, min: 1 },
      "message-size": { type: "integer", value: "BYTES", description: "ping-pong message size", default: 64, min: 0 },
      "stream-size": { type: "integer", value: "BYTES", description: "streamed message size", default: 65536, min: 0 },
      "stream-count": { type: "integer", value: "N", description: "streamed messages", default: 20_000, min: 1 },
      capacity: { type: "integer", value: "BYTES", description: "data bytes of the stream ring (a power of two)", default: 1 << 20, min: 64 },
      role: { type: "string", value: "ROLE", description: "internal: the child's part (echo or sink)" },
    },
  });
  if (values.role === "echo") return echo();
  if (values.role === "sink") return sink(values["stream-size"]);
  await pingPong(values.rounds, values["message-size"]);
  await stream(values["stream-count"], values["stream-size"], values.capacity);
});

// Sealed at its size, so neither side can truncate it under the other's mapping (SIGBUS).
function sharedMemory(length: number): { fd: number; memory: Mapping } {
  const fd = createSealedMemfd("ring-measure", length, { final: true });
  return { fd, memory: mapSealedMemfd(fd, { writable: true }) };
}

function inherited(): Mapping {
  const [fd] = inheritedFds();
  return mapSealedMemfd(fd!, { writable: true });
}

function child(role: string, fd: number): ReturnType<typeof spawnWithFds> {
  return spawnWithFds(self, ["--role", role], { fds: [fd], env: endingWithParent() });
}

async function pingPong(rounds: number, size: number): Promise<void> {
  const capacity = 65536;
  const length = 2 * Ring.bytesNeeded(capacity);
  const { fd, memory } = sharedMemory(length);
  Ring.create(memory, { capacity });
  Ring.create(memory, { capacity, offset: Ring.bytesNeeded(capacity) });
  const echoer = child("echo", fd);
  close(fd);
  using writer = Ring.attach(memory).writer(SPIN_FOREVER);
  using reader = Ring.attach(memory, Ring.bytesNeeded(capacity)).reader(SPIN_FOREVER);
  const message = new Uint8Array(size).fill(0x5a);
  const warmup = Math.min(20_000, rounds);
  for (let i = 0; i < warmup; i++) {
    writer.send(message);
    reader.peek();
    reader.release();
  }
  const samples = new Float64Array(rounds);
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    writer.send(message);
    reader.peek();
    reader.release();
    samples[i] = performance.now() - start;
  }
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    writer.send(message);
    reader.peek();
    reader.release();
  }
  const mean = ((performance.now() - started) / rounds) * 1000;
  writer.close();
  await waitForExit(echoer);
  samples.sort();
  const micros = (q: number): string => (samples[Math.min(rounds - 1, Math.floor(q * rounds))]! * 1000).toFixed(2);
  console.log(`ping-pong ${size} B, both sides spinning: median ${micros(0.5)} µs, p99 ${micros(0.99)} µs (single round trips, timer included); mean ${mean.toFixed(2)} µs over ${rounds} round trips`);
  memory.unmap();
}

async function echo(): Promise<void> {
  using memory = inherited();
  const capacity = Ring.attach(memory).capacity;
  using reader = Ring.attach(memory).reader(SPIN_FOREVER);
  using writer = Ring.attach(memory, Ring.bytesNeeded(capacity)).writer(SPIN_FOREVER);
  for (;;) {
    const length = reader.peek();
    if (length < 0) break;
    const at = writer.reserve(length);
    writer.data.set(reader.data.subarray(reader.offset, reader.offset + length), at);
    writer.commit();
    reader.release();
  }
}

async function stream(count: number, size: number, capacity: number): Promise<void> {
  const length = Ring.bytesNeeded(capacity);
  const { fd, memory } = sharedMemory(length);
  const ring = Ring.create(memory, { capacity });
  const sinker = child("sink", fd);
  close(fd);
  using writer = ring.writer();
  const message = new Uint8Array(size).fill(0xa5);
  while (!ring.hasConsumer) await new Promise((resolve) => setTimeout(resolve, 1));
  const started = performance.now();
  for (let i = 0; i < count; i++) writer.send(message);
  writer.flush();
  const seconds = (performance.now() - started) / 1000;
  writer.close();
  await waitForExit(sinker);
  const bytes = count * size;
  console.log(`stream ${size} B messages through a ${capacity} B ring: ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(3)} s, ${(bytes / 1e9 / seconds).toFixed(2)} GB/s`);
  memory.unmap();
}

async function sink(size: number): Promise<void> {
  using memory = inherited();
  using reader = Ring.attach(memory).reader();
  const into = new Uint8Array(Math.max(size, 1));
  while (reader.receive(into) >= 0);
}
