/**
 * The peer process: the other side of one mechanism, started by the bench (peer-process.ts).
 * Descriptors 3 and 4 are the control pipes (commands in, replies out); the mechanism's own
 * descriptors follow. It joins the mechanism, says it is ready, then sends or echoes as told and
 * reports the CPU time each command took, until it is told to quit or the bench goes away.
 */
import { exitWithParent, inheritedFds } from "@linux-ipc/core";
import { END_WITH_PARENT_ENV } from "@linux-ipc/programs";
import { LineChannel } from "./channel.ts";
import { mechanismNamed } from "./mechanisms/index.ts";
import type { Command, Reply } from "./peer-process.ts";
import { profileIfAsked } from "./profile.ts";

// A peer must not outlive the bench: one killed with SIGKILL would leave it spinning or blocked.
if (process.env[END_WITH_PARENT_ENV] === "1") exitWithParent("SIGKILL");
const [commands, replies, ...fds] = inheritedFds();
if (commands === undefined || replies === undefined) {
  process.stderr.write("peer: start me through the bench (src/main.ts); I need its control pipes as fds 3 and 4\n");
  process.exitCode = 2;
} else {
  await serve(new LineChannel(commands, replies));
}

async function serve(control: LineChannel): Promise<void> {
  const reply = (message: Reply): void => control.send(message);
  const [name = "", ...args] = process.argv.slice(2);
  const writeProfile = await profileIfAsked(`peer-${name}`);
  try {
    const end = await mechanismNamed(name).join({ fds, args });
    reply({ type: "ready" });
    for (;;) {
      const command = await control.receive<Command>();
      if (command === null || command.op === "quit") break;
      const before = process.cpuUsage();
      if (command.op === "send") await end.send(command.size, command.count);
      else await end.echo(command.size, command.count);
      const used = process.cpuUsage(before);
      reply({ type: "done", cpu: (used.user + used.system) / 1e6 });
    }
    await end.close();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`peer ${name}: ${message}\n`);
    try {
      reply({ type: "error", message });
    } catch {
      // the bench has gone away: nobody left to tell
    }
    process.exitCode = 1;
  } finally {
    control.close();
    await writeProfile();
  }
}
