/**
 * P1's child: started by parent.ts with the shared file (or memfd) as its descriptor 3. It maps the
 * page, prints the parent's message, and writes a reply that the parent reads after this process
 * has exited. Not meant to be run alone.
 *
 * Differs from the C: the C's child is a fork() of the parent and uses the parent's mapping as
 * inherited; this one is a new program (see parent.ts), so it maps the inherited descriptor itself.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { readlinkSync } from "node:fs";
import { checkSealed, close, getpid, getppid, mmap, MAP_SHARED, PROT_READ, PROT_WRITE, inheritedFds, fstat } from "@linux-ipc/core";
import { oneLine, SharedPage } from "./shared-page.ts";

await runMain("child", () => {
  parseCommand({
    name: "child",
    summary: "P1's child: maps the page the parent shares as descriptor 3, prints its message, writes a reply.",
    options: {},
    details: "Started by parent (pnpm --filter parent-child demo), which passes the descriptor.",
  });
  const fd = inheritedFds()[0];
  if (fd === undefined) throw new Error("no shared descriptor was inherited: this program is started by parent (pnpm --filter parent-child demo)");

  const { size } = fstat(fd);
  if (size < SharedPage.size) throw new Error(`the shared file (descriptor ${fd}) is ${size} bytes, smaller than the ${SharedPage.size}-byte page`);
  // A memfd must come sealed against shrinking: one truncated under the mapping would make a touch of
  // the page raise SIGBUS. (A file cannot be sealed: any process that may write it can truncate it.)
  if (readlinkSync(`/proc/self/fd/${fd}`).startsWith("/memfd:")) checkSealed(fd);
  const mapping = mmap(SharedPage.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, { path: `descriptor ${fd}` });
  close(fd); // the mapping holds its own reference
  const page = mapping.struct(SharedPage);
  const message = page.message;
  console.log(`child ${getpid()} read: ${oneLine(message)}`);
  page.reply = `child ${getpid()} (parent ${getppid()}) got ${Buffer.byteLength(message, "utf8")} bytes`;
  mapping.unmap();
});
