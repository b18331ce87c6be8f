/**
 * How the programs take a socket address on the command line: a path, or `@NAME` for the abstract
 * name NAME, as ss(8) and /proc/net/unix print abstract names (a shell argument cannot hold the NUL
 * byte an abstract name starts with).
 */
export function socketAddress(argument: string): string {
  return argument.startsWith("@") ? `\0${argument.slice(1)}` : argument;
}
