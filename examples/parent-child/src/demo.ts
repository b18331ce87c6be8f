/**
 * `pnpm --filter parent-child demo [--file PATH] [--anonymous] [--message TEXT]`: runs parent (P1),
 * which starts its child, as a separate process. The options are parent's, and with any the demo is
 * parent run once; without any, it runs it twice, each under a heading: with a file in a temporary
 * folder, then with --anonymous (a memfd). parent and child each print their own lines, straight to
 * the demo's stdout (their stderr lines come labelled `[parent]`); parent removes the temporary
 * folder it made.
 */
import { DemoSide, runMain, printHeading, siblingProgram } from "@linux-ipc/programs";

const parent = siblingProgram(import.meta.url, "parent");

await runMain("demo", async () => {
  const given = process.argv.slice(2);
  const runs = given.length > 0 ? [given] : [[], ["--anonymous", "--message", "我是你爹"]];
  let ok = true;
  for (const args of runs) {
    // With options, the demo is parent itself (its --help, its usage errors); headings are for the tour.
    if (given.length === 0) printHeading(`parent-child: a parent and its child share ${args.includes("--anonymous") ? "a memfd" : "a mapped file"} (P1)`);
    // Its stdout is the demo's own, unlabelled: parent and child print lines that name their pids.
    ok = (await new DemoSide("parent", parent, args, { stdout: 1 }).finished()) && ok;
  }
  return ok ? 0 : 1;
});
