// Typechecked, never run: `tsc -p tsconfig.json` (nodenext, strict, skipLibCheck false, noEmit)
// against the installed .d.ts of both packages. Each `@ts-expect-error` below fails the check if
// the types it probes are missing or `any`, so broken or absent declarations cannot pass.
import {
  SharedMemorySegment, type Attachment, defineStruct, type StructView, mapFile, type Mapping,
  Ring, type RingReader, type RingWriter, PeerGoneError, WaitTimeoutError, memfd_create, shm_open,
  shm_unlink, ftruncate, close, mmap, MAP_SHARED, PROT_READ, PROT_WRITE, O_CREAT, O_RDWR,
  isSystemError, SystemError, IPC_PRIVATE, formatKey,
} from "@linux-ipc/core";
import { startProgram, runProgram, runCommand, type RunningProgram, tempDir, unusedIpcKey, compileC } from "@linux-ipc/testing";

// Structs: field types follow the layout.
const Record = defineStruct("Conn_stat_copy", { count: "int32", ip: { char: 64 } });
const size: number = Record.size;
const ipOffset: number = Record.offsets.ip;

// System V segments and attachments.
const segment: SharedMemorySegment = SharedMemorySegment.create(unusedIpcKey(), size, 0o600);
const attachment: Attachment = segment.attach({ readOnly: false });
const stat: StructView<typeof Record.fields> = attachment.struct(Record);
stat.count += 1;
stat.ip = formatKey(segment.key);
// @ts-expect-error count is a number
stat.count = "1";
// @ts-expect-error no such field
stat.port = 80;
const line: string = `${stat.count} ${stat.ip}`;
const attached: number = segment.stat().shm_nattch;
attachment.detach();
segment.remove();
SharedMemorySegment.fromId(0).remove();
SharedMemorySegment.create(IPC_PRIVATE, 4096).remove();

// Mappings: a file, a memfd, a POSIX shm object; `using` releases them.
const dir = tempDir("consumer-");
{
  using file: Mapping = mapFile(dir.file("data"), 4096, { create: true, minimumSize: 4096 });
  file.bytes[0] = 1;
  file.sync();
  // @ts-expect-error access is "r" or "rw"
  mapFile(dir.file("data"), 4096, { access: "w" });
}
const fd: number = memfd_create("typed");
ftruncate(fd, Ring.bytesNeeded(4096));
const memory = mmap(Ring.bytesNeeded(4096), PROT_READ | PROT_WRITE, MAP_SHARED, fd);
close(fd);
const posix: number = shm_open("/consumer-typed", O_CREAT | O_RDWR, 0o600);
close(posix);
shm_unlink("/consumer-typed");

// Rings.
const ring: Ring = Ring.create(memory, { capacity: 4096, producers: 1 });
const writer: RingWriter = ring.writer({ spinMicros: 0 });
const at: number = writer.reserve(8, { timeoutMs: 100 });
writer.data.set([1, 2, 3], at);
writer.commit();
writer.send(new Uint8Array(4));
await writer.sendAsync(new Uint8Array(4), { signal: AbortSignal.timeout(100) });
writer.close();
const reader: RingReader = Ring.attach(memory).reader();
const length: number = reader.peek({ timeoutMs: 100 });
const message: Uint8Array = reader.data.subarray(reader.offset, reader.offset + length);
reader.release();
const received: number = await reader.receiveAsync(new Uint8Array(ring.maxMessageSize));
// @ts-expect-error peek takes options, not a number
reader.peek(100);
reader.close();
memory.unmap();

// Errors.
try {
  SharedMemorySegment.open(0x7e000001);
} catch (error) {
  if (isSystemError(error, "ENOENT")) {
    const code: string = error.code, errno: number = error.errno, syscall: string = error.syscall;
    const path: string | undefined = error.path;
    console.log(code, errno, syscall, path, error.perrorLine);
  } else if (error instanceof PeerGoneError) {
    const pid: number = error.pid;
  } else if (error instanceof WaitTimeoutError || error instanceof SystemError) {
    throw error;
  }
}

// The test harness.
const program: RunningProgram = startProgram("reader.mjs", ["key", "1"], { timeoutMs: 5_000 });
const ready: string = await program.waitForLine(/ready/, { timeoutMs: 1_000 });
program.write("x\n");
program.closeStdin();
program.kill("SIGTERM");
const { code, signal, stdout, stderr } = await program.exited;
const exitCode: number | null = code;
const ended: NodeJS.Signals | null = signal;
// @ts-expect-error waitForLine's options are an object
await program.waitForLine("ready", 1_000);
const ran: string = (await runProgram("reader.mjs", [], { input: "x" })).stdout;
const listed: string = (await runCommand("ls", ["-l"])).stderr;
const peer: string = compileC("peer", "int main(void) { return 0; }");
dir.remove();

console.log(size, ipOffset, line, attached, message, received, ready, exitCode, ended, stdout, stderr, ran, listed, peer);
