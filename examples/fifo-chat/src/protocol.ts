/**
 * The two-way chat protocol shared by server.ts and client.ts (the C programs talk one way only).
 *
 * Every line a client writes to the server's FIFO is one message of at most PIPE_BUF bytes, so lines
 * from several clients never mix. A client that wants answers:
 *   1. creates its reply FIFO `<server FIFO>.<pid>` (mode 0600) and opens it for reading,
 *   2. writes `@hello <pid>`: the server opens that FIFO for writing,
 *   3. writes each message as `@<pid> <text>`: the server prints `Client#: <text>`, and the next line
 *      typed on the server's stdin goes back over the reply FIFO to the client that spoke last,
 *   4. writes `@bye <pid>` before it closes: the server closes the reply FIFO.
 * Any other line is a one-way message (a shell's `echo`, a C program, a client without --chat).
 * The server only ever derives the reply path from its own FIFO's path and a number, and checks
 * that what it opened is a FIFO, so a client cannot make it write to an arbitrary file.
 */

export type ClientLine =
  | { kind: "hello"; pid: number }
  | { kind: "bye"; pid: number }
  | { kind: "message"; pid: number; text: string }
  | { kind: "plain"; text: string };

/** Where the server answers client `pid`. */
export function replyFifoPath(serverFifo: string, pid: number): string {
  return `${serverFifo}.${pid}`;
}

export const helloLine = (pid: number): string => `@hello ${pid}\n`;
export const byeLine = (pid: number): string => `@bye ${pid}\n`;
export const messageLine = (pid: number, text: string): string => `@${pid} ${text}\n`;

const CONTROL = /^@(hello|bye) ([1-9][0-9]{0,9})$/;
const MESSAGE = /^@([1-9][0-9]{0,9}) (.*)$/s;

/** What one line received on the server's FIFO means. */
export function parseClientLine(line: string): ClientLine {
  const control = CONTROL.exec(line);
  if (control) return { kind: control[1] as "hello" | "bye", pid: Number(control[2]) };
  const message = MESSAGE.exec(line);
  if (message) return { kind: "message", pid: Number(message[1]), text: message[2]! };
  return { kind: "plain", text: line };
}
