/**
 * openfile SOCKFD PATH MODE: the helper of UNIX Network Programming vol. 1, section 15.7. It opens
 * PATH with the open flags MODE (an integer: 0 is O_RDONLY, 1 O_WRONLY, 2 O_RDWR) and sends the
 * descriptor back over the UNIX socket SOCKFD, which it inherited from the program that started it
 * (mycat), with one byte of data. When the open fails it sends nothing and exits with the errno as its
 * exit status, which is how the starter learns why: the exit status is the whole error channel.
 *
 * The point of the program: a descriptor is a capability. openfile could be set-user-ID, or run with
 * rights mycat lacks; what it hands over is an open file, not a path or a permission.
 *
 * What differs from the C: nothing in the protocol (the byte is a NUL, as in the book, and the
 * descriptor rides in an SCM_RIGHTS control message sized with CMSG_SPACE). A SOCKFD that is not a
 * UNIX socket is reported on stderr as well as in the exit status.
 */
import { runMain, parseCommand, parseInteger, UsageError, usageText } from "@linux-ipc/programs";
import { close, controlBuffer, isSystemError, open, scmRights, sendmsg } from "@linux-ipc/core";

const command = {
  name: "openfile",
  summary: "Opens PATH with the open flags MODE and sends the descriptor over the socket SOCKFD with one byte; exits with the errno if the open fails.",
  positionals: ["SOCKFD", "PATH", "MODE"],
  options: {},
  details: "Started by mycat (or any program that makes a socketpair and passes one end's number). Exit status 0: a descriptor was sent; otherwise the errno of the failed open (or send).",
} as const;

await runMain(command.name, () => {
  const { positionals } = parseCommand(command);
  const [sockfdText, path, modeText] = positionals as [string, string, string];
  let sockfd: number;
  let mode: number;
  try {
    sockfd = parseInteger(sockfdText, "SOCKFD");
    mode = parseInteger(modeText, "MODE");
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message}`, usageText(command));
  }

  let fd: number;
  try {
    fd = open(path, mode);
  } catch (error) {
    // The protocol: no message, and the errno as the exit status.
    if (isSystemError(error)) return error.errno;
    throw error;
  }
  try {
    sendmsg(sockfd, { data: new Uint8Array(1), control: controlBuffer([scmRights([fd])]) });
  } catch (error) {
    if (!isSystemError(error)) throw error;
    process.stderr.write(`${command.name}: cannot send the descriptor over ${sockfd}: ${error.message}\n`);
    return error.errno;
  }
  close(fd);
  return 0;
});
