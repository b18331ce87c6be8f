/**
 * The whole public API in one import: `import { mapFile, SharedMemorySegment } from "@linux-ipc/core"`.
 *
 * Three layers: ffi/ (loading libc, C type aliases, struct layouts), libc/ (one module per C header,
 * thin C-shaped calls) and ipc/ (the objects: mappings, segments, semaphores, futexes, the ring…).
 */
export * from "./libc/errno.ts";
export * from "./libc/fcntl.ts";
export * from "./libc/unistd.ts";
export * from "./libc/time.ts";
export * from "./libc/semaphore.ts";
export * from "./libc/sys/stat.ts";
export * from "./libc/sys/mman.ts";
export * from "./libc/sys/ipc.ts";
export * from "./libc/sys/shm.ts";
export * from "./libc/sys/sem.ts";
export * from "./libc/sys/msg.ts";
export * from "./libc/sys/socket.ts";
export * from "./libc/sys/un.ts";
export * from "./libc/mqueue.ts";
export * from "./libc/linux/futex.ts";
export * from "./libc/signal.ts";
export * from "./libc/poll.ts";
export * from "./libc/sys/prctl.ts";
export * from "./libc/sys/pidfd.ts";
export * from "./ffi/struct.ts";
export type { Address, ByteBuffer } from "./ffi/libc.ts";
export * from "./ipc/timeouts.ts";
export * from "./ipc/memory.ts";
// The root's mmap is the object layer's, which returns a Mapping; libc/sys/mman.ts's raw mmap
// (returning an address) is reachable as `@linux-ipc/core/sys/mman`.
export { mmap } from "./ipc/mapping.ts";
export * from "./ipc/mapping.ts";
export * from "./ipc/shared_memory.ts";
export * from "./ipc/sealed_memfd.ts";
export * from "./ipc/semaphore_set.ts";
export * from "./ipc/message_queue.ts";
export * from "./ipc/posix_semaphore.ts";
export * from "./ipc/posix_message_queue.ts";
export * from "./ipc/futex_mutex.ts";
export { waitForWord, type WordWaitOptions, type WordWaitResult } from "./ipc/word_waiter.ts";
export * from "./ipc/ring.ts";
export * from "./ipc/ring_socket.ts";
// The persistent FdWaiter stays inside: only AsyncFd, which closes it before its descriptor, uses it.
export { isPollable, waitForFd, ClosedDescriptorError, type Readiness, type WaitOptions } from "./ipc/poll.ts";
export * from "./ipc/pipe_io.ts";
export * from "./ipc/unix_socket.ts";
export * from "./ipc/fifo.ts";
export * from "./ipc/regular_file.ts";
export * from "./ipc/sparse.ts";
export * from "./ipc/liveness.ts";
export * from "./ipc/procfs.ts";
export * from "./ipc/process.ts";
export * from "./ipc/lifetime.ts";
export * from "./ipc/leftovers.ts";
