/**
 * attach-as USER ID: becomes USER (root only: setgroups, setgid, setuid, in that order, so no root
 * group stays behind), then tries shmat on segment ID and prints one line saying what happened.
 * perm-pitfall runs it to show what an unprivileged process sees, which root cannot show itself:
 * root's CAP_IPC_OWNER capability bypasses System V permission checks, and setuid to a non-zero uid
 * drops that capability. Exit code 0 when the attach worked, 1 when it failed.
 *
 * Everything is imported before the switch, so nothing needs root's files afterwards.
 */
import { runMain, parseCommand, parseInteger, UsageError, usageText } from "@linux-ipc/programs";
import { userByName } from "./passwd.ts";
import { attachAttempt } from "./common.ts";

const command = {
  name: "attach-as",
  summary: "Switches to USER (needs root), then tries to attach the System V segment ID and prints the outcome.",
  positionals: ["USER", "ID"],
  options: {},
} as const;

await runMain(command.name, () => {
  const { positionals } = parseCommand(command);
  const [name, idText] = positionals as [string, string];
  let id: number;
  try {
    id = parseInteger(idText, "ID");
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message}`, usageText(command));
  }
  const user = userByName(name);
  if (!user) throw new Error(`no user '${name}' in /etc/passwd`);

  process.setgroups!([]);
  process.setgid!(user.gid);
  process.setuid!(user.uid);
  const outcome = attachAttempt(id, `${user.name} (uid ${user.uid})`);
  console.log(outcome.line);
  return outcome.attached ? 0 : 1;
});
