// Checks, as CommonJS (`require`, through Node's require(esm)): the same round trip as
// esm-segment.mjs, with the segment made under IPC_PRIVATE and the reader opening it by id.
// The segment is removed whatever happens.
const path = require("node:path");
const { SharedMemorySegment, defineStruct, IPC_PRIVATE } = require("@linux-ipc/core");
const { runProgram } = require("@linux-ipc/testing");

const ConnStat = defineStruct("Conn_stat_copy", { count: "int32", ip: { char: 64 } });
if (ConnStat.size !== 68 || ConnStat.offsets.ip !== 4) throw new Error(`struct Conn_stat: size ${ConnStat.size}, ip at ${ConnStat.offsets.ip}; C says 68 and 4`);
if (IPC_PRIVATE !== 0) throw new Error(`IPC_PRIVATE is ${IPC_PRIVATE}, expected 0`);

async function main() {
  const segment = SharedMemorySegment.create(IPC_PRIVATE, ConnStat.size, 0o600);
  try {
    const attachment = segment.attach();
    const stat = ConnStat.at(attachment.bytes);
    stat.count = -process.pid;
    stat.ip = "fe80::1%eth0";
    const expected = `count=${stat.count} ip=${stat.ip}`;
    attachment.detach();

    const reader = path.join(__dirname, "segment-reader.mjs");
    const result = await runProgram(reader, ["id", String(segment.id)], { timeoutMs: 30_000 });
    const printed = result.stdout.trim();
    if (result.code !== 0 || printed !== expected) {
      throw new Error(`the reader (exit ${result.code}, signal ${result.signal}) printed '${printed}', expected '${expected}'\n${result.stderr}`);
    }
    console.log(`read back by id ${segment.id}: ${printed}`);
  } finally {
    segment.remove();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
