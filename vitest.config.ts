/**
 * The one vitest configuration: every package's `test` script runs `vitest run --config
 * ../../vitest.config.ts --root .` (bench: `../vitest.config.ts`). Tests import workspace packages
 * through the "@linux-ipc/source" export condition, that is from their TypeScript sources, so one
 * copy of each module is loaded; the programs they start run the compiled dist/ output.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@linux-ipc/source", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["@linux-ipc/source", "node", "import", "default"], externalConditions: ["node"] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
