/**
 * pipe-reader: reads the pipe it inherited as descriptor 3 until read() returns 0, end of file, then
 * prints how many bytes came (with --hash, their SHA-256 too). rules.ts uses it to show that a reader
 * gets end of file once every write end is closed; the tests use it to check a 1 MiB stream.
 */
import { createHash } from "node:crypto";
import { runMain, parseCommand } from "@linux-ipc/programs";
import { inheritedFds, AsyncFd } from "@linux-ipc/core";

await runMain("pipe-reader", async () => {
  const { values } = parseCommand({
    name: "pipe-reader",
    summary: "read the pipe inherited as fd 3 until end of file and say how many bytes came",
    options: { hash: { type: "boolean", description: "print the SHA-256 of what was read too" } },
  });
  const [fd] = inheritedFds();
  if (fd === undefined) throw new Error("no pipe to read: start it with a pipe's read end as fd 3 (spawnWithFds)");
  const readEnd = new AsyncFd(fd);
  const hash = createHash("sha256");
  const buffer = new Uint8Array(65536);
  let total = 0;
  for (let count: number; (count = await readEnd.read(buffer)) > 0; total += count) hash.update(buffer.subarray(0, count));
  readEnd.close();
  console.log(`read() returned 0 (end of file) after ${total} bytes`);
  if (values.hash) console.log(`sha256 ${hash.digest("hex")}`);
});
