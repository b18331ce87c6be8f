/**
 * build-c: compiles every package's C programs, `<package>/c/*.c`, into `<package>/build/c/`, for
 * the packages in the folders given (default: `examples`). The repository's `pnpm build:c` runs it;
 * tests get the same builds through `compiledC`, so a program already built is not compiled again.
 * Prints one line per program; exit code 1 if there is no compiler or a program does not compile.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { cCompiler, compileCFile, cProgramPaths, cSkipReason } from "./cc.ts";

const roots = process.argv.length > 2 ? process.argv.slice(2) : ["examples"];
if (!cCompiler()) {
  process.stderr.write(`build-c: ${cSkipReason() ?? "no C compiler"}\n`);
  process.exit(1);
}
let failed = false;
for (const root of roots) {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const packageDir = join(root, entry.name);
    if (!entry.isDirectory() || !existsSync(join(packageDir, "c"))) continue;
    for (const file of readdirSync(join(packageDir, "c"))
      .filter((name) => name.endsWith(".c"))
      .sort()) {
      const { source, output } = cProgramPaths(packageDir, file.slice(0, -2));
      try {
        compileCFile(source, output);
        process.stdout.write(`${relative(".", source)} -> ${relative(".", output)}\n`);
      } catch (error) {
        process.stderr.write(`build-c: ${(error as Error).message}\n`);
        failed = true;
      }
    }
  }
}
process.exitCode = failed ? 1 : 0;
