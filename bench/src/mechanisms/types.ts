/**
 * What every mechanism gives the bench: a host end (in the bench process) and a peer end (in a
 * separate peer process started for it), and the two operations measured between them.
 */
import type { PeerProcess, PeerOptions } from "../peer-process.ts";

/** The bench's side of a mechanism. */
export interface HostEnd {
  /** Takes in `count` messages of `size` bytes that the peer streams (a byte stream: size × count bytes). */
  receive(size: number, count: number): Promise<void> | void;
  /**
   * `count` times: sends `size` bytes and waits for the peer's echo; samples[i] = round trip i in
   * seconds. With `measuresOneWay`, also oneWay.out[i] (bench → peer) and oneWay.back[i] (peer →
   * bench) for every stamped echo (odd i; see isStamped).
   */
  pingPong(size: number, count: number, samples: Float64Array, oneWay?: { out: Float64Array; back: Float64Array }): Promise<void> | void;
  /**
   * Whether pingPong fills one-way times: the peer stamps every second echo (isStamped) with when the
   * ping arrived. Those round trips give the one-way times and are left out of the round-trip
   * figures: a clock read inside them lengthens them (by about 50 ns on Node 20), and neither the
   * C references nor the JavaScript floor read a clock on the peer's side.
   */
  measuresOneWay?: boolean;
  /** Releases this side's descriptors and objects (the peer has been told to quit first). */
  close(): Promise<void> | void;
}

/** The peer process's side. */
export interface PeerEnd {
  /** Sends `count` messages of `size` bytes; resolves once all of them have left this process. */
  send(size: number, count: number): Promise<void> | void;
  /** Echoes `count` messages of `size` bytes back as they arrive. */
  echo(size: number, count: number): Promise<void> | void;
  close(): Promise<void> | void;
}

export interface HostContext {
  /** A directory of this run for FIFOs and socket files (removed with the run). */
  directory: string;
  /** Starts the peer process of this mechanism with extra descriptors, arguments and stdio. */
  startPeer(options: PeerOptions): PeerProcess;
}

export interface PeerContext {
  /** The descriptors the host passed (after the two control pipes), in order. */
  fds: number[];
  /** The arguments the host passed after the mechanism's name. */
  args: string[];
}

export interface Started {
  peer: PeerProcess;
  end: HostEnd;
}

export interface Mechanism {
  /** Short name used in tables, JSON and --only. */
  name: string;
  /** What it is and how it is driven, for the README and the chart legend. */
  description: string;
  /** Built on this project's core bindings, or on Node's own modules. */
  family: "core" | "node";
  /** The C reference the ratios are taken against (see referenceNames in measure.ts). */
  reference: "pipe" | "socket" | "seqpacket" | "spin" | "msg" | "mq";
  /** The largest message it carries (a message queue's limit): the plan's larger sizes are left out. */
  maxMessageSize?: number;
  /** Another C reference for the round trip only (a ring that never spins is read against C's futex). */
  latencyReference?: "futex";
  /** Null when it can run here, otherwise why not (printed as a note, the mechanism is skipped). */
  unavailable(): Promise<string | null>;
  /** Creates the IPC objects, starts the peer and returns once both sides are connected. */
  start(context: HostContext): Promise<Started>;
  /** In the peer process: joins what the host created. */
  join(context: PeerContext): Promise<PeerEnd>;
}

/** Whether the peer stamps echo `i` of a ping-pong that measures one-way times (HostEnd.measuresOneWay). */
export function isStamped(i: number): boolean {
  return (i & 1) === 1;
}
