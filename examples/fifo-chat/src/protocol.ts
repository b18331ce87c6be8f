/**
 * The two-way chat protocol shared by server.ts and client.ts (the C programs talk one way only).
 *
 * The server's FIFO is shared: any process allowed to open it may write any line there, and nothing
 * on a FIFO says which process wrote a line. So the chat says only hello on it; everything else a chat
 * client says goes over a FIFO of its own, in a folder that only its user can create files in:
 *   1. the client makes the folder `<server FIFO>.<pid>` (mode 0700; mkdir fails if the name is
 *      taken, so nobody can have prepared it) and in it two FIFOs of mode 0600: `to-server` and
 *      `to-client`. It opens `to-client` for reading and checks it is a FIFO of its own,
 *   2. it writes `@hello <pid>` on the server's FIFO. The server checks that the folder is a real
 *      folder (no link), that nobody else may write in it, and that its owner is the user process
 *      <pid> runs as; then it opens `to-client` for writing and `to-server` for reading, with
 *      O_NOFOLLOW, and checks both are FIFOs of that same user,
 *   3. each line the client writes on `to-server` is a message: the server prints `Client#: <text>`,
 *      and the next line typed on the server's stdin goes back over `to-client` of the client that
 *      spoke last,
 *   4. the client leaves by closing `to-server` (the server sees end of file) and removes the folder.
 * Any other line on the server's FIFO, `@…` included, is a one-way message (a shell's `echo`, a C
 * program, a client without --chat), printed as it came.
 *
 * What this does not do: it cannot tell apart two processes of the same user (they may do anything
 * to each other anyway), and a hello naming another user's pid only makes the server open that
 * user's own FIFOs. The server must be able to enter the 0700 folder: it runs as the client's user
 * or as root.
 */

/** The folder of client `pid`'s two FIFOs. */
export function chatDirPath(serverFifo: string, pid: number): string {
  return `${serverFifo}.${pid}`;
}

/** The FIFO client `pid` writes its messages to. */
export const toServerPath = (serverFifo: string, pid: number): string => `${chatDirPath(serverFifo, pid)}/to-server`;
/** The FIFO the server answers client `pid` on. */
export const toClientPath = (serverFifo: string, pid: number): string => `${chatDirPath(serverFifo, pid)}/to-client`;

export const helloLine = (pid: number): string => `@hello ${pid}\n`;

const HELLO = /^@hello ([1-9][0-9]{0,9})$/;

/** The pid a line on the server's FIFO says hello for, or null for a one-way message. */
export function parseHello(line: string): number | null {
  const hello = HELLO.exec(line);
  return hello ? Number(hello[1]) : null;
}
