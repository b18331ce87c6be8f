/**
 * `@linux-ipc/testing/vitest`: the harness for vitest test files. It exports everything the root
 * entry does, plus `useTempDir`, and registers one hook: after each test, the programs that test
 * left running are ended (SIGTERM, then SIGKILL), so a failing test leaks no process and none of the
 * IPC objects such a process would hold.
 */
import { afterEach, beforeEach } from "vitest";
import { stopLeftoverPrograms } from "./harness.ts";
import { tempDir, type TempDir } from "./tmp.ts";

export * from "./index.ts";

afterEach(() => stopLeftoverPrograms());

/** The directory `useTempDir` gives each test. */
export interface TestDir {
  /** This test's own directory (a new one for each test). */
  readonly path: string;
  /** The path of `name` inside it. */
  file(name: string): string;
}

/** In a vitest file: a fresh temporary directory for each test, removed after it, pass or fail. */
export function useTempDir(prefix?: string): TestDir {
  let current: TempDir | null = null;
  beforeEach(() => {
    current = tempDir(prefix);
  });
  afterEach(() => {
    current?.remove();
    current = null;
  });
  const active = (): TempDir => {
    if (!current) throw new Error("useTempDir: the directory exists only while a test runs");
    return current;
  };
  return {
    get path() {
      return active().path;
    },
    file: (name) => active().file(name),
  };
}
