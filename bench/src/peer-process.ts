/**
 * The bench's handle on a peer process: started with spawnWithFds (or with Node's 'ipc' channel for
 * the process.send mechanism), told what to do over the control channel, killed by the cleanup
 * registry if the run ends early.
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { close, pipe2, spawnWithFds, waitForExit } from "@linux-ipc/core";
import { LineChannel } from "./channel.ts";
import { track } from "./cleanup.ts";
import { endingWithParent, siblingProgram } from "@linux-ipc/programs";

const peerScript = siblingProgram(import.meta.url, "peer");

/** How long a peer may take to start and connect, or to quit, before the bench gives up on it. */
const PEER_TIMEOUT_MS = 30_000;

export interface PeerOptions {
  /** Descriptors the peer receives after the two control pipes. */
  fds?: number[];
  args?: string[];
  /** The peer's stdin and stdout: "pipe" gives the bench child.stdin / child.stdout (default "ignore"). */
  stdin?: "pipe" | "ignore";
  stdout?: "pipe" | "ignore";
  /** Node's IPC channel (process.send), with this serialization. */
  ipc?: "json" | "advanced";
}

export type Command = { op: "send" | "echo"; size: number; count: number } | { op: "quit" };
export type Reply = { type: "ready" } | { type: "done"; cpu: number } | { type: "error"; message: string };

export class PeerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly #control: LineChannel;
  readonly #release: () => void;

  constructor(mechanism: string, options: PeerOptions = {}) {
    this.name = mechanism;
    const [commandsRead, commandsWrite] = pipe2();
    const [resultsRead, resultsWrite] = pipe2();
    const fds = [commandsRead, resultsWrite, ...(options.fds ?? [])];
    const args = [mechanism, ...(options.args ?? [])];
    const stdio: ["pipe" | "ignore", "pipe" | "ignore", "inherit"] = [options.stdin ?? "ignore", options.stdout ?? "ignore", "inherit"];
    try {
      this.child = options.ipc === undefined ? spawnWithFds(peerScript, args, { fds, stdio, env: endingWithParent() }) : spawnWithIpc(args, fds, stdio, options.ipc);
    } catch (error) {
      close(commandsWrite);
      close(resultsRead);
      throw error;
    } finally {
      // The peer has its own copies: with ours closed, each side sees end of file if the other dies.
      close(commandsRead);
      close(resultsWrite);
    }
    this.#control = new LineChannel(resultsRead, commandsWrite);
    const child = this.child;
    this.#release = track(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      this.#control.close();
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`the ${this.name} peer did not start`);
    return pid;
  }

  /** Waits until the peer has joined the mechanism. */
  async ready(): Promise<void> {
    await this.#expect("ready", "start and join");
  }

  command(command: Command): void {
    this.#control.send(command);
  }

  /** The peer's CPU seconds for the command it has just finished. */
  async done(): Promise<number> {
    const reply = await this.#expect("done", "finish its part");
    return reply.type === "done" ? reply.cpu : 0;
  }

  /** Tells the peer to quit and waits for it to exit; kills it if it does not. */
  async stop(): Promise<void> {
    try {
      if (this.child.exitCode === null && this.child.signalCode === null) {
        try {
          this.command({ op: "quit" });
        } catch {
          // its end of the control pipe is already closed: it is on its way out
        }
        const timer = setTimeout(() => this.child.kill("SIGKILL"), PEER_TIMEOUT_MS);
        try {
          await waitForExit(this.child);
        } finally {
          clearTimeout(timer);
        }
      }
    } finally {
      this.#release();
    }
  }

  async #expect(type: Reply["type"], what: string): Promise<Reply> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), PEER_TIMEOUT_MS);
    let reply: Reply | null;
    try {
      reply = await this.#control.receive<Reply>();
    } finally {
      clearTimeout(timer);
    }
    if (reply === null) {
      const { code, signal } = await waitForExit(this.child);
      throw new Error(`the ${this.name} peer exited (code ${code}, signal ${signal}) before it could ${what}`);
    }
    if (reply.type === "error") throw new Error(`the ${this.name} peer failed: ${reply.message}`);
    if (reply.type !== type) throw new Error(`the ${this.name} peer said '${reply.type}' where '${type}' was due`);
    return reply;
  }
}

/**
 * Finishes a mechanism's start: waits for the peer to join, and on failure releases the host end and
 * the peer before passing the error on.
 */
export async function whenReady<E extends { close(): Promise<void> | void }>(peer: PeerProcess, end: E): Promise<{ peer: PeerProcess; end: E }> {
  try {
    await peer.ready();
  } catch (error) {
    await peer.stop();
    await end.close();
    throw error;
  }
  return { peer, end };
}

/** spawnWithFds cannot add Node's IPC channel: the same start, with 'ipc' after the inherited fds. */
function spawnWithIpc(args: string[], fds: number[], stdio: ["pipe" | "ignore", "pipe" | "ignore", "inherit"], serialization: "json" | "advanced"): ChildProcess {
  const inherited = fds.map((_, index) => String(3 + index)).join(",");
  return spawn(process.execPath, [peerScript, ...args], {
    env: endingWithParent({ ...process.env, IPC_INHERITED_FDS: inherited }),
    stdio: [...stdio, ...fds, "ipc"] as StdioOptions,
    serialization,
  });
}
