import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { open, O_RDWR, close } from "@linux-ipc/core";
import { runProgram, useTempDir, compiledProgram } from "@linux-ipc/testing/vitest";
import { SharedPage } from "./shared-page.ts";

const child = compiledProgram(import.meta.url, "child");
const dir = useTempDir("parent-child-child-");

describe("child run without its parent", () => {
  it("exits 1 saying it needs the parent's descriptor", async () => {
    const env = { ...process.env };
    delete env.IPC_INHERITED_FDS;
    const result = await runProgram(child, [], { env });
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toBe("child: no shared descriptor was inherited: this program is started by parent (pnpm --filter parent-child demo)\n");
  });

  it("exits 1 when the inherited file is smaller than the page (whose end it could neither read nor write)", async () => {
    const path = dir.file("short");
    writeFileSync(path, Buffer.alloc(10));
    const fd = open(path, O_RDWR);
    try {
      const result = await runProgram(child, [], { fds: [fd], env: { ...process.env, IPC_INHERITED_FDS: "3" } });
      expect(result).toMatchObject({ code: 1, signal: null, stdout: "" });
      expect(result.stderr).toBe(`child: the shared file (descriptor 3) is 10 bytes, smaller than the ${SharedPage.size}-byte page\n`);
    } finally {
      close(fd);
    }
  });
});
