/**
 * mycat PATH [--helper CMD]: cat(1) of one file that it does not open itself (UNIX Network
 * Programming vol. 1, section 15.7). It makes a socketpair, starts the helper (this example's openfile
 * by default) with one end as its descriptor 3 and the arguments `3 PATH 0` (0 is O_RDONLY), waits
 * for it to exit, and then:
 * - exit status 0: receives the descriptor the helper sent over the socket, and copies the file to
 *   standard output;
 * - any other status: that number is the errno of the helper's open, printed as
 *   `mycat: open 'PATH': Permission denied` (exit 1).
 *
 * What differs from the C, and why:
 * - No fork(): the helper is spawned with the socket end as its fd 3, what fork() + exec() gives.
 * - `--helper CMD` runs CMD through /bin/sh with the three arguments after it, so CMD may be a C
 *   openfile (`./openfile_c`) or a command line (`pnpm -s --filter unix-socket openfile`). sh itself
 *   exits 126 or 127 when it cannot run CMD: mycat says so instead of naming errno 126 or 127.
 * - The descriptor is received with close-on-exec set, and a message carrying more than one is refused
 *   (every one closed) rather than leaking the extra ones.
 */
import { spawn } from "node:child_process";
import { endingWithParent, ExitError, parseCommand, runMain, siblingProgram } from "@linux-ipc/programs";
import { AF_UNIX, close, O_RDONLY, read, SOCK_CLOEXEC, SOCK_STREAM, socketpair, spawnWithFds, STDOUT_FILENO, strerror, UnixSocket, waitForExit, writeAllAsync } from "@linux-ipc/core";

const openfileProgram = siblingProgram(import.meta.url, "openfile");

/** Opens `path` through the helper and returns the descriptor it sent back. */
async function myOpen(path: string, mode: number, helper: string | undefined): Promise<number> {
  const [mine, theirs] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC);
  const socket = new UnixSocket(mine);
  try {
    const args = ["3", path, String(mode)];
    const child =
      helper === undefined
        ? spawnWithFds(openfileProgram, args, { fds: [theirs], env: endingWithParent() })
        : spawn("/bin/sh", ["-c", `${helper} "$@"`, "sh", ...args], { stdio: ["inherit", "inherit", "inherit", theirs] });
    // Only the helper holds its end now: if it dies, this end reads end of file.
    close(theirs);
    const { code, signal } = await waitForExit(child);
    if (signal !== null) throw new ExitError(`the helper ended with ${signal}`, 1);
    if (helper !== undefined && (code === 126 || code === 127)) throw new ExitError(`the helper '${helper}' could not be run (sh exited ${code})`, 1);
    if (code !== 0) throw new ExitError(`open '${path}': ${strerror(code!)}`, 1);
    const { fds } = await socket.receive({ maxFds: 1 });
    if (fds.length === 0) throw new ExitError("the helper exited 0 but sent no descriptor", 1);
    return fds[0]!;
  } finally {
    socket.close();
  }
}

await runMain("mycat", async () => {
  const { values, positionals } = parseCommand({
    name: "mycat",
    summary: "Prints PATH, opened by a helper program that sends the open descriptor back over a socketpair (UNP vol. 1, section 15.7).",
    positionals: ["PATH"],
    options: {
      helper: { type: "string", value: "CMD", description: "the helper to run as `CMD SOCKFD PATH MODE` through /bin/sh (default: this example's openfile)" },
    },
  });
  const fd = await myOpen(positionals[0]!, O_RDONLY, values.helper);
  try {
    const buffer = Buffer.allocUnsafe(65536);
    for (let count = read(fd, buffer); count > 0; count = read(fd, buffer)) await writeAllAsync(STDOUT_FILENO, buffer.subarray(0, count));
  } finally {
    close(fd);
  }
});
