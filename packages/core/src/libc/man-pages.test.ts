/**
 * Every C-shaped function of the libc modules says where C documents it: its doc comment links the
 * man page on man7.org. C-shaped means calling a C function bound in its module (the bindings are
 * named `<function>_c`: `open` calls `open_c`, `clockGettime` calls `clock_gettime_c`) or named as a
 * function the module binds. Helpers that only build on those (`formatKey`, `errnoName`, `check`)
 * need no link.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const libcDir = fileURLToPath(new URL(".", import.meta.url));
const modulePaths = readdirSync(libcDir, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
  .sort();

const manPage = /@see https:\/\/man7\.org\/linux\/man-pages\/man[1-8]\/([\w.-]+)\.([1-8][a-z]*)\.html\b/g;

/** The C functions a module binds, by the name of the binding: `open_c` → `open`. */
function bindings(text: string, file: string): string[] {
  return [...text.matchAll(/^const (\w+) = libc\.func\(/gm)].map(([, binding]) => {
    if (!binding?.endsWith("_c")) throw new Error(`${file}: the binding ${binding} is not named <function>_c, so this test cannot see who calls it`);
    return binding.slice(0, -2);
  });
}

interface ExportedFunction {
  name: string;
  /** The C functions bound in the module (`open_c`, …) that its body calls: `open`. */
  calls: string[];
  /** The pages its doc comment links: `open.2`. */
  pages: string[];
}

function exportedFunctions(file: string): ExportedFunction[] {
  const text = readFileSync(libcDir + file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const bound = bindings(text, file);
  const found: ExportedFunction[] = [];
  for (const statement of source.statements) {
    if (!ts.isFunctionDeclaration(statement) || !statement.name || !statement.body) continue;
    if (!statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) continue;
    const doc = statement.getFullText().slice(0, statement.getLeadingTriviaWidth());
    const body = statement.body.getText();
    const calls = [...body.matchAll(/\b(\w+)_c\(/g)].map(([, c]) => c ?? "");
    if (calls.length === 0 && !bound.includes(statement.name.text)) continue;
    found.push({
      name: statement.name.text,
      calls,
      pages: [...doc.matchAll(manPage)].map(([, page, section]) => `${page}.${section}`),
    });
  }
  return found;
}

const cShaped = modulePaths.flatMap((file) => exportedFunctions(file).map((fn) => ({ file, ...fn })));

describe("man pages of the libc modules' functions", () => {
  it(`each of the ${cShaped.length} C-shaped functions links its man7.org page`, () => {
    expect(cShaped.filter((fn) => fn.pages.length === 0).map((fn) => `${fn.file}: ${fn.name}`)).toEqual([]);
  });

  it("finds the C-shaped functions and leaves the helpers out (the scan itself works)", () => {
    const names = cShaped.map((fn) => fn.name);
    expect(names).toEqual(expect.arrayContaining(["open", "mmap", "mq_open", "clockGettime", "futexWake", "pidfd_open"]));
    expect(names).not.toContain("errnoName");
    expect(names).not.toContain("formatKey");
  });
});
