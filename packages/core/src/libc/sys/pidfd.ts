/** `<sys/pidfd.h>`: a descriptor that refers to a process and becomes readable when it exits. */
import { checkInt32, checkUint32 } from "../../ffi/checks.ts";
import { libc } from "../../ffi/libc.ts";
import { check } from "../errno.ts";

/** The syscall number of pidfd_open: 434 on every architecture (it came after the tables were unified). */
export const SYS_pidfd_open = 434;

// Called through syscall(2) rather than glibc's wrapper, which only glibc 2.36 and later have; the
// variadic syscall() is declared with fixed arguments, as futex.ts explains.
const pidfd_open_c = libc.func("long syscall(long number, int pid, unsigned int flags)");

/**
 * pidfd_open(2): a close-on-exec descriptor for process `pid`. Poll it for readable to learn that
 * the process has ended (Linux 5.3 and later).
 * @see https://man7.org/linux/man-pages/man2/pidfd_open.2.html
 */
export function pidfd_open(pid: number, flags = 0): number {
  checkInt32(pid, "pid");
  checkUint32(flags, "flags");
  return Number(check(pidfd_open_c(SYS_pidfd_open, pid, flags) as number, "pidfd_open"));
}
