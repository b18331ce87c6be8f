/**
 * What parent and child share: one page, the parent's message (a NUL-terminated string) in the
 * first 3072 bytes and the child's reply in the last 1024. Declared as a C struct so that both
 * programs read and write the fields in place:
 *   struct shared_page { char message[3072]; char reply[1024]; };
 */
import { defineStruct } from "@linux-ipc/core";

export const SharedPage = defineStruct("parent_child_shared_page", {
  message: { char: 3072 },
  reply: { char: 1024 },
});

/** The message as both programs print it: line breaks shown as \n and \r, so it stays on one line. */
export function oneLine(text: string): string {
  return text.replaceAll("\n", "\\n").replaceAll("\r", "\\r");
}
