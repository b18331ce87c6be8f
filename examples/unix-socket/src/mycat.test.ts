import { afterAll, afterEach, describe, expect, it } from "vitest";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileC, compiledProgram, cSkipReason, removeCompiled, runCommand, runProgram, stopLeftoverPrograms, useTempDir } from "@linux-ipc/testing/vitest";

const mycat = compiledProgram(import.meta.url, "mycat");
const openfile = compiledProgram(import.meta.url, "openfile");
const isRoot = process.getuid?.() === 0;
const dir = useTempDir();
afterEach(() => stopLeftoverPrograms());
afterAll(removeCompiled);

/** Every byte value, twice, and more than one read's worth: what a byte-exact copy must keep. */
const contents = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(100_000, 0x5a), Buffer.from("last line without newline")]);

function fileWithContents(): string {
  const path = dir.file("contents.bin");
  writeFileSync(path, contents);
  return path;
}

const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** pnpm as a shell command: the one running the tests, else npx's. */
function pnpmCommand(): string {
  const pnpm = process.env.npm_execpath;
  return pnpm !== undefined && /pnpm\.c?js$/.test(pnpm) ? `"${process.execPath}" "${pnpm}"` : "npx --yes pnpm@10.34.9";
}

const openfileC = `#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* openfile SOCKFD PATH MODE in C: opens PATH and sends the descriptor with one NUL byte over SOCKFD,
   or exits with the errno of the failed call. */
int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: openfile_c SOCKFD PATH MODE\\n"); return 1; }
  int sock = atoi(argv[1]);
  int fd = open(argv[2], atoi(argv[3]));
  if (fd < 0) return errno;
  union { char bytes[CMSG_SPACE(sizeof(int))]; struct cmsghdr aligned; } control;
  memset(&control, 0, sizeof control);
  char byte = 0;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
  struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof fd);
  if (sendmsg(sock, &msg, 0) != 1) return errno;
  return 0;
}
`;

const mycatC = `#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* mycat_c PATH HELPER: runs "HELPER SOCKFD PATH MODE" through /bin/sh with one end of a socketpair
   (its real number, not 3), then prints the file whose descriptor comes back, or the helper's errno. */
int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: mycat_c PATH HELPER\\n"); return 1; }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) { perror("socketpair"); return 1; }
  pid_t child = fork();
  if (child < 0) { perror("fork"); return 1; }
  if (child == 0) {
    close(pair[0]);
    char fd_text[16], mode_text[16], script[4096];
    snprintf(fd_text, sizeof fd_text, "%d", pair[1]);
    snprintf(mode_text, sizeof mode_text, "%d", O_RDONLY);
    snprintf(script, sizeof script, "%s \\"$@\\"", argv[2]);
    execl("/bin/sh", "sh", "-c", script, "sh", fd_text, argv[1], mode_text, (char *)NULL);
    _exit(127);
  }
  close(pair[1]);
  int status;
  if (waitpid(child, &status, 0) != child) { perror("waitpid"); return 1; }
  if (!WIFEXITED(status)) { fprintf(stderr, "mycat: the helper did not exit\\n"); return 1; }
  if (WEXITSTATUS(status) != 0) { fprintf(stderr, "mycat: open '%s': %s\\n", argv[1], strerror(WEXITSTATUS(status))); return 1; }
  char byte;
  union { char bytes[CMSG_SPACE(sizeof(int))]; struct cmsghdr aligned; } control;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
  if (recvmsg(pair[0], &msg, 0) != 1) { perror("recvmsg"); return 1; }
  struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
  if (header == NULL || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "mycat: no descriptor came\\n"); return 1; }
  int fd;
  memcpy(&fd, CMSG_DATA(header), sizeof fd);
  char buffer[8192];
  ssize_t count;
  while ((count = read(fd, buffer, sizeof buffer)) > 0) {
    if (write(1, buffer, count) != count) { perror("write"); return 1; }
  }
  return count < 0 ? 1 : 0;
}
`;

describe("mycat and openfile (UNP vol. 1, 15.7)", () => {
  it("copies the file that openfile opened and sent over the socketpair, byte for byte", async () => {
    const result = await runProgram(mycat, [fileWithContents()]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdoutBytes.equals(contents)).toBe(true);
  });

  it("prints the errno that openfile exited with when it cannot open the file", async () => {
    const missing = dir.file("missing");
    expect(await runProgram(mycat, [missing])).toMatchObject({ code: 1, stdout: "", stderr: `mycat: open '${missing}': No such file or directory\n` });
    expect(await runProgram(openfile, ["1", missing, "0"])).toMatchObject({ code: 2, stdout: "", stderr: "" });
  });

  it("says Permission denied for a file the user may not read (as nobody when the tests run as root)", async () => {
    const secret = fileWithContents();
    chmodSync(secret, 0o600);
    chmodSync(dir.path, 0o755);
    if (!isRoot) chmodSync(secret, 0o000);
    const result = isRoot ? await runCommand("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, mycat, secret]) : await runProgram(mycat, [secret]);
    expect(result).toMatchObject({ code: 1, stdout: "", stderr: `mycat: open '${secret}': Permission denied\n` });
  });

  it("refuses bad arguments with a usage line, and answers --help", async () => {
    expect(await runProgram(openfile, ["three", "/etc/hostname", "0"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^openfile: SOCKFD must be an integer/) });
    expect(await runProgram(openfile, ["99", "/etc/hostname", "0"])).toMatchObject({ code: 9, stderr: "openfile: cannot send the descriptor over 99: EBADF: bad file descriptor, sendmsg\n" });
    expect(await runProgram(mycat, [])).toMatchObject({ code: 1, stderr: expect.stringContaining("usage: mycat PATH [--helper CMD]") });
    expect(await runProgram(mycat, ["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("usage: mycat PATH [--helper CMD]") });
    expect(await runProgram(mycat, [dir.file("x"), "--helper", dir.file("no-such-helper")])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`mycat: the helper '${dir.file("no-such-helper")}' could not be run (sh exited 127)`),
    });
  });

  describe.skipIf(cSkipReason() !== null)("with C, both ways", () => {
    it("the C mycat prints what the TypeScript openfile sends, and its errno when it cannot", async () => {
      const cMycat = compileC("mycat_c", mycatC);
      const file = fileWithContents();
      const helper = `"${process.execPath}" "${openfile}"`;
      const result = await runCommand(cMycat, [file, helper]);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdoutBytes.equals(contents)).toBe(true);
      expect(await runCommand(cMycat, [dir.file("missing"), helper])).toMatchObject({ code: 1, stderr: `mycat: open '${dir.file("missing")}': No such file or directory\n` });
    });

    it("the TypeScript mycat prints what the C openfile sends, and its errno when it cannot", async () => {
      const cOpenfile = compileC("openfile_c", openfileC);
      const file = fileWithContents();
      const result = await runProgram(mycat, [file, "--helper", cOpenfile]);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdoutBytes.equals(contents)).toBe(true);
      expect(await runProgram(mycat, [dir.path, "--helper", cOpenfile])).toMatchObject({ code: 1, stderr: "mycat: read: Is a directory\n" });
      expect(await runProgram(mycat, [dir.file("missing"), "--helper", cOpenfile])).toMatchObject({ code: 1, stderr: `mycat: open '${dir.file("missing")}': No such file or directory\n` });
    });

    it("refuses a helper that sends more than one descriptor, naming how many were dropped", async () => {
      const twice = compileC(
        "openfile_twice",
        openfileC
          .replace("memcpy(CMSG_DATA(header), &fd, sizeof fd);", "int both[2] = { fd, fd };\n  memcpy(CMSG_DATA(header), both, sizeof both);")
          .replace("CMSG_SPACE(sizeof(int))", "CMSG_SPACE(2 * sizeof(int))")
          .replace("CMSG_LEN(sizeof(int))", "CMSG_LEN(2 * sizeof(int))"),
      );
      const result = await runProgram(mycat, [fileWithContents(), "--helper", twice]);
      expect(result).toMatchObject({
        code: 1,
        stdout: "",
        stderr: "mycat: recvmsg: 1 descriptor was dropped (MSG_CTRUNC): the message carried 2, the receiver had room for 1; all 2 have been closed\n",
      });
    });

    it("the openfile package script's command passes on the descriptor a C parent started it with, at its own number", async () => {
      const scriptLine = (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.openfile!;
      expect(scriptLine).toBe("exec node dist/openfile.js");
      const file = fileWithContents();
      // The C parent's sh runs the script's own line, in the package's folder, with "$@" = SOCKFD PATH MODE.
      const result = await runCommand(compileC("mycat_c", mycatC), [file, `cd "${packageDir}" && ${scriptLine}`]);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdoutBytes.equals(contents)).toBe(true);
    });

    it("through pnpm the socket must come as stdin: node marks inherited descriptors above 2 close-on-exec, so pnpm cannot pass them", async () => {
      const cMycat = compileC("mycat_c", mycatC);
      const file = fileWithContents();
      const viaStdin = `through_stdin() { socket=$1; shift; ${pnpmCommand()} -s --dir "${packageDir}" openfile 0 "$@" 0<&"$socket"; }; through_stdin`;
      const result = await runCommand(cMycat, [file, viaStdin], { timeoutMs: 120_000 });
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdoutBytes.equals(contents)).toBe(true);
      // The same socket at its own number (4 in the C parent) never reaches the program.
      const lost = await runCommand(cMycat, [file, `${pnpmCommand()} -s --dir "${packageDir}" openfile`], { timeoutMs: 120_000 });
      expect(lost.code).toBe(1);
      expect(lost.stderr).toMatch(/^openfile: cannot send the descriptor over \d+: (EBADF|ENOTSOCK)/);
    }, 250_000);
  });
});
