/**
 * Where a program finds the programs it starts. The examples run compiled (`dist/*.js`), but a
 * reader may also run the sources with a TypeScript-aware node; either way the child is looked for
 * beside the module that starts it, with that module's own extension.
 */
import { fileURLToPath } from "node:url";

/** The path of program `name` in the folder of the module at `moduleUrl` (pass `import.meta.url`). */
export function siblingProgram(moduleUrl: string, name: string): string {
  const extension = new URL(moduleUrl).pathname.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`./${name}${extension}`, moduleUrl));
}
