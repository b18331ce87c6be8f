import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { SharedMemorySegment, ShmidDs, shmctl, SHM_LOCK, type Attachment, IPC_SET, IPC_STAT } from "@linux-ipc/core";

import { isRoot, run, segmentLedger } from "./test-support.ts";

const ledger = segmentLedger();
const created: SharedMemorySegment[] = [];
const attached: Attachment[] = [];
afterEach(() => {
  for (const attachment of attached.splice(0)) attachment.detach();
  for (const segment of created.splice(0)) segment.remove();
});

const UID_WITHOUT_NAME = 4242;
const NOBODY = 65534;

function segment(size: number, mode: number): SharedMemorySegment {
  const made = SharedMemorySegment.create(ledger.key(), size, mode);
  created.push(made);
  ledger.trackId(made.id);
  return made;
}

/** shmctl(IPC_SET): gives the segment a new owner (root only). */
function chown(target: SharedMemorySegment, uid: number): void {
  const buffer = new Uint8Array(ShmidDs.size);
  shmctl(target.id, IPC_STAT, buffer);
  ShmidDs.at(buffer).shm_perm.uid = uid;
  shmctl(target.id, IPC_SET, buffer);
}

/** The line for segment `id` in an `ipcs -m` style listing. */
function lineFor(listing: string, id: number): string | undefined {
  return listing.split("\n").find((line) => line.startsWith("0x") && line.slice(11).startsWith(`${id} `));
}

describe("ipcs", () => {
  it("prints the same header and, byte for byte, the same line per segment as util-linux `ipcs -m`", async () => {
    const plain = segment(4096, 0o640);
    const removedWhileAttached = segment(68, 0o666);
    attached.push(removedWhileAttached.attach());
    removedWhileAttached.remove();
    const watched = [plain, removedWhileAttached];
    if (isRoot) {
      const locked = segment(123_457, 0o600);
      shmctl(locked.id, SHM_LOCK);
      const nameless = segment(10, 0o604);
      chown(nameless, UID_WITHOUT_NAME);
      const ofNobody = segment(20, 0o666);
      chown(ofNobody, NOBODY);
      watched.push(locked, nameless, ofNobody);
    }

    const ours = await run("ipcs", []);
    const real = execFileSync("ipcs", ["-m"], { encoding: "utf8" });
    expect(ours.stderr).toBe("");
    expect(ours.code).toBe(0);
    expect(ours.stdout.split("\n").slice(0, 3)).toEqual(real.split("\n").slice(0, 3));
    expect(ours.stdout.endsWith("\n\n")).toBe(true);
    for (const { id } of watched) {
      expect(lineFor(ours.stdout, id), `segment ${id}`).toBe(lineFor(real, id));
      expect(lineFor(ours.stdout, id)).toBeDefined();
    }
    expect(lineFor(ours.stdout, removedWhileAttached.id)).toMatch(/^0x00000000 \d+ +\S+ +666 +68 +1 +dest +$/);
  });

  it("prints its usage for --help, takes the tutorial's -m, and refuses other arguments", async () => {
    expect((await run("ipcs", ["--help"])).code).toBe(0);
    const withM = await run("ipcs", ["-m"]);
    expect(withM.code).toBe(0);
    expect(withM.stdout).toMatch(/^\n------ Shared Memory Segments --------\n/);
    const bad = await run("ipcs", ["-q"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^ipcs: /);
  });
});
