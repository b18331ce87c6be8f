// Checks a two-process ring exchange with plain node: this process (the producer) creates a memfd,
// lays a 64 KiB Ring in it, starts ring-consumer.mjs (with @linux-ipc/testing's startProgram) with
// the memfd as its fd 3, sends MESSAGES checkable messages (ring-message.mjs; they wrap the ring
// about 80 times), closes, and checks the consumer's summary: every message once, in order,
// intact, and the same checksum total as sent.
import { fileURLToPath } from "node:url";
import { Ring, memfd_create, ftruncate, close, mmap, MAP_SHARED, PROT_READ, PROT_WRITE } from "@linux-ipc/core";
import { startProgram } from "@linux-ipc/testing";
import { MESSAGES, messageLength, writeMessage } from "./ring-message.mjs";

const size = Ring.bytesNeeded(65536);
const fd = memfd_create("consumer-ring");
ftruncate(fd, size);
const memory = mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
const ring = Ring.create(memory, { capacity: 65536 });

const script = fileURLToPath(new URL("./ring-consumer.mjs", import.meta.url));
const consumer = startProgram(script, [String(size)], { fds: [fd], timeoutMs: 60_000 });
try {
  close(fd); // the mapping and the child's copy keep the memfd alive
  await consumer.waitForLine("attached", { timeoutMs: 15_000 });

  const writer = ring.writer();
  let sum = 0;
  for (let seq = 0; seq < MESSAGES; seq++) {
    const at = writer.reserve(messageLength(seq), { timeoutMs: 15_000 });
    sum = (sum + writeMessage(writer.data, at, seq)) >>> 0;
    writer.commit();
  }
  writer.close();

  const result = await consumer.exited;
  const summary = result.stdout.trim().split("\n").at(-1);
  const expected = `received ${MESSAGES} lost 0 duplicated 0 corrupt 0 checksum ${sum}`;
  if (result.code !== 0 || summary !== expected) {
    throw new Error(`the consumer (exit ${result.code}, signal ${result.signal}) ended with '${summary}', expected '${expected}'\n${consumer.transcript()}`);
  }
  console.log(`consumer: ${summary}`);
} finally {
  consumer.kill("SIGKILL"); // no-op once it has exited
  await consumer.exited.catch(() => {});
  memory.unmap();
}
