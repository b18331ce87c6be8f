/**
 * msgstat: prints the `struct msqid_ds` of the System V queue for a key (msgctl IPC_STAT), laid out
 * as `ipcs -q -i ID` lays it out, so the two can be read side by side: owner and creator ids, mode,
 * bytes and messages queued (cbytes, qnum), the most bytes it holds (qbytes), the pids of the last
 * msgsnd and msgrcv, and the times of the last send, receive and change. Then one line of the
 * system's limits, which ipcs shows with `ipcs -q -l`.
 *
 * Stevens' svmsg has no such program (his ctl.c printed a few of the fields); IPC_STAT needs read
 * permission on the queue.
 */
import { parseCommand, runMain } from "@linux-ipc/programs";
import { MSG_LIMIT_FILES, msgStat } from "@linux-ipc/core";
import { keyOf, keyOptions, kernelLimit, openQueue } from "./common.ts";

const command = {
  name: "msgstat",
  summary: "Prints the struct msqid_ds of the System V queue for a key, as ipcs -q -i ID shows it, and the kernel's limits.",
  options: keyOptions,
} as const;

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A time as C's ctime(3) writes it in local time (`Tue Dec  1 19:50:26 2026`), `Not set` for 0, as ipcs does. */
function ctime(seconds: number): string {
  if (seconds === 0) return "Not set";
  const t = new Date(seconds * 1000);
  const clock = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  return `${DAYS[t.getDay()]} ${MONTHS[t.getMonth()]} ${String(t.getDate()).padStart(2, " ")} ${clock} ${t.getFullYear()}`;
}

await runMain("msgstat", () => {
  const { values } = parseCommand(command);
  const queue = openQueue(keyOf(values, command));
  const ds = msgStat(queue.id);
  const perm = ds.msg_perm;
  console.log(`\nMessage Queue msqid=${queue.id}`);
  console.log(`uid=${perm.uid}\tgid=${perm.gid}\tcuid=${perm.cuid}\tcgid=${perm.cgid}\tmode=${(perm.mode & 0o777).toString(8).padStart(4, "0")}`);
  console.log(`cbytes=${ds.__msg_cbytes}\tqbytes=${ds.msg_qbytes}\tqnum=${ds.msg_qnum}\tlspid=${ds.msg_lspid}\tlrpid=${ds.msg_lrpid}`);
  console.log(`send_time=${ctime(ds.msg_stime)}`);
  console.log(`rcv_time=${ctime(ds.msg_rtime)}`);
  console.log(`change_time=${ctime(ds.msg_ctime)}`);
  console.log(`\nlimits: msgmax=${kernelLimit(MSG_LIMIT_FILES.msgmax)} (${MSG_LIMIT_FILES.msgmax}), msgmnb=${kernelLimit(MSG_LIMIT_FILES.msgmnb)} (${MSG_LIMIT_FILES.msgmnb})`);
});
