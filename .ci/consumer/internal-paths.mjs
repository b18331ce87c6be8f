// Checks that the packages' internals are not reachable: resolving (require.resolve) and importing
// (import()) each path below must fail, because the packages' "exports" do not expose it.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const internal = ["@linux-ipc/core/dist/ring.js", "@linux-ipc/core/src/ring.ts", "@linux-ipc/testing/dist/harness.js"];
const notFound = new Set(["ERR_PACKAGE_PATH_NOT_EXPORTED", "MODULE_NOT_FOUND", "ERR_MODULE_NOT_FOUND"]);
let failures = 0;
for (const specifier of internal) {
  for (const [how, attempt] of [["require.resolve", () => require.resolve(specifier)], ["import", () => import(specifier)]]) {
    try {
      const reached = await attempt();
      console.error(`${how}('${specifier}') reached ${typeof reached === "string" ? reached : "a module"}`);
      failures++;
    } catch (error) {
      if (!notFound.has(error.code)) {
        console.error(`${how}('${specifier}') found something and failed otherwise: ${error.code ?? error}`);
        failures++;
      } else console.log(`${how}('${specifier}') fails: ${error.code}`);
    }
  }
}
process.exitCode = failures === 0 ? 0 : 1;
