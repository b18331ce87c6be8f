import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { spawnWithFds, waitForExit } from "./process.ts";
import { readAsync } from "./pipe_io.ts";
import { pipe2, close, write } from "../libc/unistd.ts";

const child = fileURLToPath(new URL("../../dist-fixtures/inherited-fd-child.js", import.meta.url));

describe("spawnWithFds", () => {
  it("gives the child chosen descriptors as fds 3, 4… and the parent sees end of file once it closes its copy", async () => {
    const [toChildRead, toChildWrite] = pipe2();
    const [fromChildRead, fromChildWrite] = pipe2();
    const spawned = spawnWithFds(child, [], { fds: [toChildRead, fromChildWrite], stdio: ["ignore", "inherit", "inherit"] });
    close(toChildRead);
    close(fromChildWrite);
    try {
      write(toChildWrite, "ping");
      close(toChildWrite);
      const buffer = new Uint8Array(64);
      let text = "";
      for (let n: number; (n = await readAsync(fromChildRead, buffer)) > 0; ) text += Buffer.from(buffer.subarray(0, n)).toString();
      expect(text).toBe("fds 3,4 got ping");
      expect(await waitForExit(spawned)).toEqual({ code: 0, signal: null });
    } finally {
      close(fromChildRead);
    }
  });
});
