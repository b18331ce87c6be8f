/**
 * C peers compiled at test time with the system compiler, so byte compatibility with C is tested
 * for real. Without a compiler the tests that need one are skipped with a message, except in CI
 * (CI=true), where a missing compiler is a failure: no test is skipped there.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function findCompiler(): string | null {
  for (const candidate of [process.env.CC, "cc", "gcc", "clang"]) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return null;
}

// Probed on first use, not when the module loads: most test files import this package and never
// compile C, and starting the compiler costs each of them a process.
let probed: { compiler: string | null } | undefined;

/** The C compiler the tests use ($CC, else cc, gcc or clang), or null when there is none. Probed once, on the first call. */
export function cCompiler(): string | null {
  probed ??= { compiler: findCompiler() };
  return probed.compiler;
}

/** Why C tests are skipped here, or null when they run. Throws in CI when there is no compiler. */
export function cSkipReason(): string | null {
  if (cCompiler()) return null;
  if (process.env.CI) throw new Error("CI has no C compiler (cc): the C interoperability and layout tests cannot run");
  return "no C compiler (cc) on this machine: C interoperability tests skipped";
}

const built: string[] = [];

/** Compiles `source` into an executable and returns its path. Directories are removed by `removeCompiled`. */
export function compileC(name: string, source: string, extraFlags: string[] = []): string {
  const compiler = cCompiler();
  if (!compiler) throw new Error(cSkipReason() ?? "no C compiler");
  const dir = mkdtempSync(join(tmpdir(), `ipc-cc-${name}-`));
  built.push(dir);
  const file = join(dir, `${name}.c`);
  const output = join(dir, name);
  writeFileSync(file, source);
  try {
    execFileSync(compiler, ["-std=gnu11", "-O1", "-Wall", "-o", output, file, ...extraFlags], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`compiling the C peer ${name} failed:\n${stderr}`);
  }
  return output;
}

/** Removes every directory compileC made in this process. */
export function removeCompiled(): void {
  for (const dir of built.splice(0)) rmSync(dir, { recursive: true, force: true });
}
