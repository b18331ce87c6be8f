/**
 * C peers compiled at test time with the system compiler, so byte compatibility with C is tested
 * for real. Without a compiler the tests that need one are skipped with a message, except in CI
 * (CI=true), where a missing compiler is a failure: no test is skipped there.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

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

/** The flags every C program here is compiled with, before the caller's own. */
const C_FLAGS = ["-std=gnu11", "-O1", "-Wall"];

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
    execFileSync(compiler, [...C_FLAGS, "-o", output, file, ...extraFlags], { stdio: ["ignore", "pipe", "pipe"] });
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

/**
 * Compiles the C file `source` into the executable `output` (its folder made if missing), unless
 * `output` already is the build of that same source: a hash of the source text, the compiler and
 * the flags is kept beside it in `<output>.sha256`, so an unchanged program is compiled once, not
 * once per test file. Safe when several processes build the same file at once: each compiles to a
 * name of its own and renames it into place. Returns `output`.
 */
export function compileCFile(source: string, output: string, extraFlags: string[] = []): string {
  const compiler = cCompiler();
  if (!compiler) throw new Error(cSkipReason() ?? "no C compiler");
  const flags = [...C_FLAGS, ...extraFlags];
  const hash = createHash("sha256")
    .update(JSON.stringify([compiler, flags]))
    .update(readFileSync(source))
    .digest("hex");
  const hashFile = `${output}.sha256`;
  if (existsSync(output) && existsSync(hashFile) && readFileSync(hashFile, "utf8").trim() === hash) return output;
  mkdirSync(dirname(output), { recursive: true });
  const partial = `${output}.${process.pid}.partial`;
  try {
    execFileSync(compiler, [...flags, "-o", partial, source], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    rmSync(partial, { force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`compiling ${source} failed:\n${stderr}`);
  }
  renameSync(partial, output);
  writeFileSync(`${hashFile}.${process.pid}`, `${hash}\n`);
  renameSync(`${hashFile}.${process.pid}`, hashFile);
  return output;
}

/**
 * Where a package keeps the executable of its C program `name`: the source is `<package>/c/<name>.c`
 * and the build `<package>/build/c/<name>`, outside the sources (git ignores `build/`). `name` may
 * name a subfolder of `c/`, as the examples' test peers do (`test/conn-stat-writer`).
 */
export function cProgramPaths(packageDir: string, name: string): { source: string; output: string } {
  return { source: join(packageDir, "c", `${name}.c`), output: join(packageDir, "build", "c", name) };
}

/**
 * From a test at `<package>/src/…/x.test.ts`: the package's C program `name`, `<package>/c/<name>.c`,
 * compiled (once, see `compileCFile`) into `<package>/build/c/<name>`; returns the executable's path.
 * Pass `import.meta.url` of the test file. Without a compiler it throws (check `cSkipReason()` first).
 */
export function compiledC(testFileUrl: string, name: string): string {
  const folder = dirname(fileURLToPath(testFileUrl));
  const at = folder.lastIndexOf(`${sep}src`);
  if (at < 0 || !(folder.length === at + 4 || folder[at + 4] === sep)) throw new Error(`compiledC: ${folder} is not inside a src folder`);
  const { source, output } = cProgramPaths(folder.slice(0, at), name);
  return compileCFile(source, output);
}
