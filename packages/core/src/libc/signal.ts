/**
 * `<signal.h>`: only what Node itself does not offer. Node handles signals through `process.on`,
 * but it cannot ignore one: at start-up Node resets every inherited SIG_IGN (but SIGPIPE's and
 * SIGXFSZ's) to SIG_DFL, so a program started under `nohup` would die of SIGHUP. `signal(sig,
 * SIG_IGN)` puts the disposition back.
 */
import { checkInt32 } from "../ffi/checks.ts";
import { libc } from "../ffi/libc.ts";
import { errnoError } from "./errno.ts";

/** The default action of a signal (`(sighandler_t) 0`). */
export const SIG_DFL = 0;
/** Ignore the signal (`(sighandler_t) 1`): the kernel discards it when it is sent. */
export const SIG_IGN = 1;
/** What signal() returns on failure (`(sighandler_t) -1`). */
const SIG_ERR = -1;

const signal_c = libc.func("intptr_t signal(int signum, intptr_t handler)");

/**
 * signal(2) restricted to SIG_IGN and SIG_DFL (a JavaScript function cannot be a C signal
 * handler). Returns the previous disposition: SIG_DFL, SIG_IGN or the address of a handler. Setting
 * SIG_DFL on a signal Node listens to would take it from Node: use it only to undo your SIG_IGN.
 * @see https://man7.org/linux/man-pages/man2/signal.2.html
 */
export function signal(signum: number, disposition: typeof SIG_DFL | typeof SIG_IGN): number | bigint {
  checkInt32(signum, "signum");
  const previous = signal_c(signum, disposition) as number | bigint;
  if (previous === SIG_ERR || previous === BigInt(SIG_ERR)) throw errnoError("signal");
  return previous;
}
