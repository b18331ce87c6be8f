/** Temporary paths and System V keys that belong to one test, so tests run in parallel and beside a demo. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomInt } from "node:crypto";
import { afterEach, beforeEach } from "vitest";
import { shmget } from "../sys/shm.ts";
import { isSystemError } from "../errno.ts";

/** A fresh directory under the system temp dir; `remove()` deletes it and everything in it. */
export function tempDir(prefix = "ipc-test-"): { path: string; file: (name: string) => string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestDir {
  /** This test's own directory (a new one for each test). */
  readonly path: string;
  file(name: string): string;
}

/** In a vitest file: a fresh temporary directory for each test, removed after it, pass or fail. */
export function useTempDir(prefix?: string): TestDir {
  let current: ReturnType<typeof tempDir> | null = null;
  beforeEach(() => {
    current = tempDir(prefix);
  });
  afterEach(() => {
    current?.remove();
    current = null;
  });
  const active = (): ReturnType<typeof tempDir> => {
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

/**
 * A System V key no segment uses right now, from a range the demos never use (0x7e000000 and up,
 * random low bits). The caller still creates with IPC_EXCL, so a race with another test fails loudly.
 */
export function unusedShmKey(): number {
  for (;;) {
    const key = 0x7e000000 | randomInt(1, 0x00ffffff);
    try {
      shmget(key, 0, 0);
    } catch (error) {
      if (isSystemError(error, "ENOENT")) return key;
      throw error;
    }
  }
}
