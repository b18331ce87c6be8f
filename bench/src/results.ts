/** The shape of results/latest.json: everything one run measured, and the targets read against it. */
import type { PlacementName } from "./affinity.ts";
import type { FileCopySeries } from "./filecopy.ts";
import type { Machine } from "./machine.ts";
import type { LatencySeries, Plan, StreamSeries } from "./measure.ts";
import type { OverheadSeries } from "./overhead.ts";
import type { WaitingResults } from "./waiting.ts";

export interface TargetCheck {
  /** The project's target, in words. */
  target: string;
  /** What this run measured against it. */
  measured: string;
  /** True: met; false: missed; null: not measured in this run. */
  met: boolean | null;
}

export interface Results {
  format: "ipc-bench/1";
  startedAt: string;
  /** Wall time of the whole run. */
  seconds: number;
  quick: boolean;
  plan: Plan & { fileCopyBytes: number };
  machine: Machine;
  /** What was skipped or how something was measured. */
  notes: string[];
  /** The placements the IPC measures ran in, in order (see affinity.ts). */
  placements: PlacementName[];
  unavailable: { name: string; reason: string }[];
  throughput: StreamSeries[];
  latency: LatencySeries[];
  overhead: OverheadSeries[];
  filecopy: FileCopySeries[];
  /** The event loop under pending async waits, and uncontended waits (null: not measured). */
  waiting: WaitingResults | null;
  targets: TargetCheck[];
}
