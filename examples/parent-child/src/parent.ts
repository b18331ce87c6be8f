/**
 * P1, parent and child: the parent maps a file shared (or, with --anonymous, a memfd), writes a
 * message into it, and starts a child that inherits the descriptor; the child maps it too, prints
 * the message and writes a reply, which the parent prints once the child has exited.
 *
 * Differs from the C:
 * - No fork(): V8 marks its heap MADV_DONTFORK, so a child forked through koffi dies of SIGSEGV.
 *   The parent starts child.ts as a new program that gets the descriptor as its fd 3 (what fork()
 *   followed by exec() gives in C) and maps it itself: a mapping is not inherited across exec, the
 *   file behind it is.
 * - No race: the C's child sleeps one microsecond (usleep(1)) and hopes the parent has written by
 *   then; often it has not, and the child prints an empty string. Here the parent writes before it
 *   starts the child, and reads the reply only after the child has exited, so each side reads what
 *   the other has finished writing.
 * - --anonymous uses memfd_create: the C way to share anonymous memory, mmap(MAP_SHARED |
 *   MAP_ANONYMOUS) before fork(), shares nothing with a program started by exec; a memfd is an
 *   anonymous file whose descriptor the child inherits and maps.
 * - The file (mode 0666 less the umask, as in the C) is created if missing and grown to the page if
 *   smaller; without --file it lives in a new temporary folder that is removed at the end.
 * - A symbolic link given to --file is refused, not followed, and a missing one is created with O_EXCL: in a
 *   folder others can write to (/tmp), another user's link would make this program write, or create
 *   a file, wherever it points (see owned-files.ts in @linux-ipc/programs).
 * - --mode sets the mode a new file gets (less the umask); the C's 0666 is the default, which lets every user read
 *   and write the page unless the umask takes that away (the temporary folder is this user's alone).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { endingWithParent, onTerminationSignal, parseCommand, runMain, usageText, UsageError, siblingProgram, openOrCreateOwnFile } from "@linux-ipc/programs";
import { O_RDWR, close, createSealedMemfd, ftruncate, getpid, mmap, MAP_SHARED, PROT_READ, PROT_WRITE, type Mapping, fstat, spawnWithFds, waitForExit } from "@linux-ipc/core";
import { oneLine, SharedPage } from "./shared-page.ts";

const child = siblingProgram(import.meta.url, "child");
const MESSAGE_CAPACITY = SharedPage.fields.message.char;

await runMain("parent", async () => {
  const spec = {
    name: "parent",
    summary: "Map a file (or a memfd) shared, write a message, and let a child process read it (P1).",
    options: {
      file: { type: "string", value: "PATH", description: "the file to share (default: one in a new temporary folder)" },
      anonymous: { type: "boolean", description: "share a memfd_create region instead of a file" },
      message: { type: "string", value: "TEXT", description: "the message (default: I am the parent, pid <pid>)" },
      mode: { type: "mode", value: "MODE", description: "octal mode of a --file it creates, less the umask (0600: this user only)", default: 0o666 },
    },
  } as const;
  const { values } = parseCommand(spec);
  if (values.file !== undefined && values.anonymous) {
    throw new UsageError("parent: --file and --anonymous cannot be used together", usageText(spec));
  }
  const mode = values.mode;
  const message = values.message ?? `I am the parent, pid ${getpid()}`;
  const length = Buffer.byteLength(message, "utf8");
  if (length + 1 > MESSAGE_CAPACITY) {
    throw new Error(`the message is ${length} bytes; with its NUL it does not fit in the ${MESSAGE_CAPACITY} bytes the page has for it`);
  }

  let temporaryDir: string | null = null;
  const removeTemporaryDir = (): void => {
    if (temporaryDir !== null) rmSync(temporaryDir, { recursive: true, force: true });
  };
  const stopCleanup = onTerminationSignal(removeTemporaryDir);
  try {
    if (values.file === undefined && !values.anonymous) temporaryDir = mkdtempSync(join(tmpdir(), "parent-child-"));
    let fd: number;
    let shared: string;
    if (values.anonymous) {
      // Sealed at its final size: the child can then map it knowing nobody can truncate it under it.
      fd = createSealedMemfd("parent-child", SharedPage.size, { final: true });
      shared = "a memfd";
    } else {
      shared = temporaryDir === null ? values.file! : join(temporaryDir, "shared-page");
      fd = openOrCreateOwnFile(shared, O_RDWR, mode).fd;
    }

    let mapping: Mapping | undefined;
    try {
      // Grown, never shrunk: touching a mapped page past the end of the file would raise SIGBUS.
      if (fstat(fd).size < SharedPage.size) ftruncate(fd, SharedPage.size);
      mapping = mmap(SharedPage.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, { path: shared });
      const page = mapping.struct(SharedPage);
      page.message = message;
      page.reply = "";
      console.log(`parent ${getpid()} wrote ${length} bytes to ${shared}: ${oneLine(message)}`);
      // The child is started only now: whatever it reads, the parent has finished writing.
      const started = spawnWithFds(child, [], { fds: [fd], env: endingWithParent() });
      close(fd);
      fd = -1;
      const { code, signal } = await waitForExit(started);
      if (code !== 0) throw new Error(`the child ${started.pid} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
      console.log(`parent ${getpid()} read the child's reply: ${page.reply}`);
    } finally {
      if (fd !== -1) close(fd);
      mapping?.unmap();
    }
  } finally {
    stopCleanup();
    removeTemporaryDir();
  }
});
