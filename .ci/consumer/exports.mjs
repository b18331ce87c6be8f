// Checks the root entries' names: every name listed in expected-exports/<package>.txt (for core,
// the names the root entry re-exported before the packages were split; for testing, the harness's
// documented API) is exported, and `require()` sees exactly the names `import` sees.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let failures = 0;
for (const name of ["core", "testing"]) {
  const specifier = `@linux-ipc/${name}`;
  const expected = readFileSync(new URL(`./expected-exports/${name}.txt`, import.meta.url), "utf8").split("\n").filter(Boolean);
  const imported = Object.keys(await import(specifier)).sort();
  const required = Object.keys(require(specifier)).filter((key) => key !== "__esModule" && key !== "module.exports").sort();
  const missing = expected.filter((key) => !imported.includes(key));
  if (missing.length > 0) {
    console.error(`${specifier} does not export: ${missing.join(", ")}`);
    failures++;
  }
  if (imported.join() !== required.join()) {
    console.error(`${specifier}: require() and import give different names`);
    failures++;
  }
  console.log(`${specifier}: ${imported.length} names, ${expected.length - missing.length} of ${expected.length} expected`);
}
process.exitCode = failures === 0 ? 0 : 1;
