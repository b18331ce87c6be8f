import { afterEach } from "vitest";
import { stopLeftoverPrograms } from "./harness.ts";

export * from "./harness.ts";
export * from "./cc.ts";
export * from "./tmp.ts";

// Every test file that uses the harness ends, after each test, the programs that test left running.
afterEach(() => stopLeftoverPrograms());
