/**
 * pipe-writer: copies its standard input into the pipe it inherited as descriptor 3, then prints how
 * many bytes it wrote. With every read end closed, write() fails with EPIPE: a C writer would be
 * killed by SIGPIPE first, but Node ignores that signal, so the error arrives instead; the writer
 * says so and exits 1. rules.ts uses it for that case; the tests use it for a 1 MiB stream.
 */
import { runMain, parseCommand, ExitError } from "@linux-ipc/programs";
import { inheritedFds, isSystemError, strerror, AsyncFd } from "@linux-ipc/core";

await runMain("pipe-writer", async () => {
  parseCommand({ name: "pipe-writer", summary: "copy standard input into the pipe inherited as fd 3", options: {} });
  const [fd] = inheritedFds();
  if (fd === undefined) throw new Error("no pipe to write to: start it with a pipe's write end as fd 3 (spawnWithFds)");
  const writeEnd = new AsyncFd(fd);
  let total = 0;
  try {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      await writeEnd.writeAll(chunk);
      total += chunk.length;
    }
  } catch (error) {
    if (!isSystemError(error, "EPIPE")) throw error;
    throw new ExitError(`write() failed with EPIPE (${strerror(error.errno)}) after ${total} bytes: no reader is left, and Node ignores SIGPIPE`, 1);
  } finally {
    writeEnd.close();
  }
  console.log(`wrote ${total} bytes`);
});
