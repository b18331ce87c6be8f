// The second process of the segment round trips: attaches the System V segment named on the
// command line (`key <n>` or `id <n>`) read-only, reads the struct Conn_stat record in it, and
// prints it as one line: `count=<count> ip=<ip>`.
import { SharedMemorySegment, defineStruct } from "@linux-ipc/core";

// struct Conn_stat { int count; char ip[64]; }, declared here as a C reader would include it (under
// another koffi type name: koffi names are global and core already declares "Conn_stat").
const ConnStat = defineStruct("Conn_stat_copy", { count: "int32", ip: { char: 64 } });

const [by, value] = process.argv.slice(2);
const segment = by === "key" ? SharedMemorySegment.open(Number(value), ConnStat.size) : SharedMemorySegment.fromId(Number(value));
const attachment = segment.attach({ readOnly: true });
try {
  // Read-only memory has no `bytes` (a write through it would fault): struct views read it in place.
  const stat = attachment.struct(ConnStat);
  console.log(`count=${stat.count} ip=${stat.ip}`);
} finally {
  attachment.detach();
}
