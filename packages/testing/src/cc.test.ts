import { describe, expect, it } from "vitest";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { compileCFile, cSkipReason, runCommand, tempDir } from "./vitest.ts";

describe.skipIf(cSkipReason() !== null)("compileCFile", () => {
  it("compiles a C file once, reuses the build while the source is unchanged, and compiles it again when it changes", async () => {
    const dir = tempDir("testing-cc-");
    try {
      const source = dir.file("hello.c");
      const output = dir.file("build/c/hello");
      writeFileSync(source, '#include <stdio.h>\nint main(void) { puts("one"); return 0; }\n');
      expect(compileCFile(source, output)).toBe(output);
      expect((await runCommand(output)).stdout).toBe("one\n");
      const built = statSync(output).mtimeMs;
      compileCFile(source, output);
      expect(statSync(output).mtimeMs).toBe(built);
      writeFileSync(source, '#include <stdio.h>\nint main(void) { puts("two"); return 0; }\n');
      compileCFile(source, output);
      expect((await runCommand(output)).stdout).toBe("two\n");
    } finally {
      dir.remove();
    }
  });

  it("says which file failed to compile, with the compiler's message, and leaves no partial build", () => {
    const dir = tempDir("testing-cc-");
    try {
      const source = dir.file("broken.c");
      writeFileSync(source, "int main(void) { return missing; }\n");
      expect(() => compileCFile(source, dir.file("broken"))).toThrow(new RegExp(`^compiling ${source} failed:\\n[\\s\\S]*missing`));
      expect(readdirSync(dir.path)).toEqual(["broken.c"]);
    } finally {
      dir.remove();
    }
  });
});
