/**
 * `struct Conn_stat { int count; char ip[64]; }`, the record the tutorials' SysV and mmap
 * programs share (68 bytes on every Linux ABI). Declared once here for every example that uses it.
 */
import { defineStruct } from "@linux-ipc/core";

export const ConnStat = defineStruct("Conn_stat", {
  count: "int32",
  ip: { char: 64 },
});

export type ConnStatView = ReturnType<typeof ConnStat.at>;

/** The line the C readers print: `ip = 127.0.0.1 ,count: 3`. */
export function formatConnStat(view: { ip: string; count: number }): string {
  return `ip = ${view.ip} ,count: ${view.count}`;
}
