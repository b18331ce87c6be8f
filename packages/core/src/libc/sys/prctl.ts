/** `<sys/prctl.h>`: operations on the calling process (only the one the programs need so far). */
import { libc } from "../../ffi/libc.ts";
import { check } from "../errno.ts";

/** prctl option: the signal this process gets when its parent thread dies (0: none). */
export const PR_SET_PDEATHSIG = 1;
/** prctl option: reads the parent-death signal into an `int`. */
export const PR_GET_PDEATHSIG = 2;

const prctl_c = libc.func("int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)");

/**
 * prctl(2) with integer arguments. Returns what the call returns (0 for the set operations).
 * @see https://man7.org/linux/man-pages/man2/prctl.2.html
 */
export function prctl(option: number, arg2 = 0, arg3 = 0, arg4 = 0, arg5 = 0): number {
  return check(prctl_c(option, arg2, arg3, arg4, arg5) as number, "prctl");
}
