/**
 * `@linux-ipc/testing`: run programs as real, separate processes and synchronise on what they print;
 * compile C peers at test time; temporary folders and unused System V keys. Nothing here needs a
 * test runner; `@linux-ipc/testing/vitest` adds the vitest hooks.
 */
export * from "./harness.ts";
export * from "./cc.ts";
export * from "./tmp.ts";
