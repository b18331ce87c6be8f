/**
 * --profile DIR: a V8 CPU profile of the bench process and of every peer process, written as
 * DIR/<side>-<name>-<pid>.cpuprofile when each ends (open them in Chrome DevTools' Performance panel
 * or in VS Code). The profiler is started through node:inspector in the process itself, so peers
 * need no extra node flags: the bench passes the directory in BENCH_PROFILE_DIR.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

export const PROFILE_VARIABLE = "BENCH_PROFILE_DIR";

/** Starts profiling this process if BENCH_PROFILE_DIR is set; the returned function writes the profile. */
export async function profileIfAsked(side: string): Promise<() => Promise<void>> {
  const directory = process.env[PROFILE_VARIABLE];
  if (!directory) return async () => {};
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(directory, `${side.replace(/[^\w.-]+/g, "_")}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
