import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { describeLeftover, findLeftovers, removeLeftover, segmentLeftover, semaphoreSetLeftover } from "./leftovers.ts";
import { SharedMemorySegment } from "./shared_memory.ts";
import { SemaphoreSet } from "./semaphore_set.ts";
import { unusedIpcKey } from "@linux-ipc/testing/vitest";

/** Runs `ipcmk` (a process that creates the object and exits at once) and returns the new id. */
function ipcmk(args: string[]): number {
  const output = execFileSync("ipcmk", [...args, "-p", "0600"], { encoding: "utf8" });
  const id = /id: (\d+)/.exec(output)?.[1];
  if (id === undefined) throw new Error(`ipcmk printed no id: ${output}`);
  return Number(id);
}

function removeQuietly(flag: "-m" | "-s", id: number): void {
  try {
    execFileSync("ipcrm", [flag, String(id)], { stdio: "ignore" });
  } catch {
    // already gone
  }
}

describe("leftovers", () => {
  it("a segment whose creator exited, with nothing attached, is a leftover; removeLeftover removes it", () => {
    const id = ipcmk(["-M", "4096"]);
    try {
      const leftover = segmentLeftover(id);
      expect(leftover).toMatchObject({ kind: "segment", id, ipcrm: `ipcrm -m ${id}` });
      expect(leftover!.deadPids).toHaveLength(1);
      expect(describeLeftover(leftover!)).toMatch(new RegExp(`^segment 0x[0-9a-f]{8} \\(shmid ${id}\\) of pid \\d+, which is gone$`));
      expect(findLeftovers().map((found) => found.id)).toContain(id);
      expect(removeLeftover(leftover!)).toBe(true);
      expect(() => SharedMemorySegment.fromId(id).stat()).toThrow();
    } finally {
      removeQuietly("-m", id);
    }
  });

  it("an attached segment of a dead creator is not a leftover, nor one this live process created", () => {
    const id = ipcmk(["-M", "4096"]);
    const own = SharedMemorySegment.create(unusedIpcKey(), 4096, 0o600);
    try {
      const attachment = SharedMemorySegment.fromId(id).attach();
      expect(segmentLeftover(id)).toBeNull();
      expect(removeLeftover({ kind: "segment", id, key: 0, deadPids: [], ipcrm: "" })).toBe(false);
      attachment.detach();
      expect(segmentLeftover(id)).not.toBeNull();
      expect(segmentLeftover(own.id)).toBeNull();
      expect(findLeftovers().map((found) => found.id)).not.toContain(own.id);
    } finally {
      removeQuietly("-m", id);
      own.remove();
    }
  });

  it("a semaphore set this live process last used is not a leftover; one nobody ever used is not, while it is new", () => {
    const set = SemaphoreSet.create(unusedIpcKey(), 2, 1, 0o600);
    const fresh = ipcmk(["-S", "1"]);
    try {
      expect(semaphoreSetLeftover(set.id)).toBeNull();
      expect(semaphoreSetLeftover(fresh)).toBeNull();
    } finally {
      set.remove();
      removeQuietly("-s", fresh);
    }
  });
});
