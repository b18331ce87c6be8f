/**
 * A clock every process reads alike: CLOCK_MONOTONIC, in milliseconds. performance.now() counts from
 * each process's own start, so a time stamped in one process means nothing in another; this adds
 * the offset to CLOCK_MONOTONIC (process.hrtime), taken once, to performance.now(), which is cheap
 * enough to read once per message.
 */

/** CLOCK_MONOTONIC minus performance.now(), in ms: the closest of a few readings taken back to back. */
const offsetMs = (() => {
  let narrowest = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let attempt = 0; attempt < 16; attempt++) {
    const before = performance.now();
    const monotonic = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < narrowest) {
      narrowest = after - before;
      offset = monotonic - (before + after) / 2;
    }
  }
  return offset;
})();

/** CLOCK_MONOTONIC now, in ms. */
export function monotonicMs(): number {
  return performance.now() + offsetMs;
}

/** performance.now() at the moment another process read `monotonic` (ms) from monotonicMs. */
export function localMs(monotonic: number): number {
  return monotonic - offsetMs;
}
