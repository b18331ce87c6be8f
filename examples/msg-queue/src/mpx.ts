/**
 * The protocol of the client-server pair over one System V queue (Stevens' svmsgmpx1q): which types
 * go which way, what a request and a reply hold, and how a client checks its reply.
 *
 * A request has type 1 and the text `<pid> <body>`: the client's pid, a space, then its bytes. The
 * server's reply has type <pid>, so only that client receives it (msgrcv with msgtyp = its pid), and
 * the text `<length> <sha256 of body, hex>`, which the client computes too: a reply meant for another
 * client, or a body damaged on the way, does not match.
 */
import { createHash } from "node:crypto";

/** The type every request is sent with, and the only one the server reads. */
export const REQUEST_TYPE = 1;

/** The key of the server's queue without --key or --path: 0x4d505831, "MPX1". */
export const SERVER_KEY = 0x4d505831;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A request's text: the client's pid, a space, the body. */
export function request(pid: number, body: string): Uint8Array {
  return encoder.encode(`${pid} ${body}`);
}

/** A request read back: the pid to reply to and the body; null when it is not `<pid> <body>`. */
export function parseRequest(bytes: Uint8Array): { pid: number; body: Uint8Array } | null {
  const space = bytes.indexOf(0x20);
  if (space < 1) return null;
  const pid = Number(decoder.decode(bytes.subarray(0, space)));
  if (!Number.isSafeInteger(pid) || pid <= REQUEST_TYPE) return null;
  return { pid, body: bytes.subarray(space + 1) };
}

/** What the server answers for `body`, and what its client expects: `<length> <sha256 hex>`. */
export function reply(body: Uint8Array): string {
  return `${body.length} ${createHash("sha256").update(body).digest("hex")}`;
}
