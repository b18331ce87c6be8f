/**
 * The control channel between the bench and a peer process: JSON lines over two anonymous pipes,
 * one each way, kept apart from the mechanism being measured. Writes are synchronous (a line is far
 * below PIPE_BUF, so it is written whole); reads wait on epoll (core's AsyncFd), so the event loop
 * stays free for mechanisms built on Node streams.
 */
import { AsyncFd, close, writeAll } from "@linux-ipc/core";

export class LineChannel {
  readonly #input: AsyncFd;
  readonly #output: number;
  readonly #buffer = new Uint8Array(4096);
  #text = "";
  #closed = false;

  constructor(input: number, output: number) {
    this.#input = new AsyncFd(input);
    this.#output = output;
  }

  send(message: unknown): void {
    writeAll(this.#output, `${JSON.stringify(message)}\n`);
  }

  /** The next message, or null once the other side has closed its end. */
  async receive<T>(): Promise<T | null> {
    for (;;) {
      const newline = this.#text.indexOf("\n");
      if (newline >= 0) {
        const line = this.#text.slice(0, newline);
        this.#text = this.#text.slice(newline + 1);
        return JSON.parse(line) as T;
      }
      const n = await this.#input.read(this.#buffer);
      if (n === 0) return null;
      this.#text += Buffer.from(this.#buffer.buffer, this.#buffer.byteOffset, n).toString("utf8");
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.close();
    close(this.#output);
  }
}
