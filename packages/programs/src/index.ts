/**
 * `@linux-ipc/programs`: what the example programs share and the library leaves out. Argument
 * parsing, `--help` and usage errors, `runMain` (one-line errors and exit codes, as Stevens'
 * err_sys), `perror`, cleanup on termination signals, the demo runner, and `struct Conn_stat`.
 */
export * from "./cli.ts";
export * from "./demo.ts";
export * from "./conn_stat.ts";
export * from "./sibling.ts";
export * from "./signals.ts";
export * from "./ipc-objects.ts";
export * from "./ipc-keys.ts";
export * from "./owned-files.ts";
