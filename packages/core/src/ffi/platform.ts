/**
 * Imported first by ffi/libc.ts, before koffi loads a native binary: on another OS the package fails
 * here, with one sentence, rather than with an error from deep inside koffi.
 */
if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
  throw new Error(`@linux-ipc/core runs only on Linux x86_64 or arm64 (this is ${process.platform} ${process.arch}).`);
}

export {};
