/**
 * `pnpm --filter parent-child demo [--file PATH] [--anonymous] [--message TEXT]`: runs parent (P1),
 * which starts its child, as a separate process. The options are parent's, and with any the demo is
 * parent run once; without any, it runs it twice, each under a heading: with a file in a temporary
 * folder, then with --anonymous (a memfd). parent and
 * child each print their own lines; parent removes the temporary folder it made.
 */
import { runMain, printHeading, siblingProgram } from "@linux-ipc/programs";
import { spawnWithFds, waitForExit } from "@linux-ipc/core";

const parent = siblingProgram(import.meta.url, "parent");

await runMain("demo", async () => {
  const given = process.argv.slice(2);
  const runs = given.length > 0 ? [given] : [[], ["--anonymous", "--message", "我是你爹"]];
  let failures = 0;
  for (const args of runs) {
    // With options, the demo is parent itself (its --help, its usage errors); headings are for the tour.
    if (given.length === 0) printHeading(`parent-child: a parent and its child share ${args.includes("--anonymous") ? "a memfd" : "a mapped file"} (P1)`);
    const { code, signal } = await waitForExit(spawnWithFds(parent, args));
    if (code !== 0) {
      process.stderr.write(`demo: parent ${signal ? `was killed by ${signal}` : `exited with code ${code}`}\n`);
      failures++;
    }
  }
  return failures === 0 ? 0 : 1;
});
