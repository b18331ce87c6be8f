/** Everything in one import; each module can also be imported alone (`@linux-ipc/core/sys/mman`). */
export * from "./errno.ts";
export * from "./fcntl.ts";
export * from "./unistd.ts";
export * from "./poll.ts";
export * from "./struct.ts";
export * from "./conn_stat.ts";
export * from "./sys/stat.ts";
export * from "./sys/mman.ts";
export * from "./sys/ipc.ts";
export * from "./sys/shm.ts";
export * from "./process.ts";
export * from "./fifo.ts";
export * from "./pipe_io.ts";
export * from "./procfs.ts";
export * from "./regular_file.ts";
export * from "./sparse.ts";
export type { Address } from "./libc.ts";
