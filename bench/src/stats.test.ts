import { describe, expect, it } from "vitest";
import { latencySummary, percentile, spread } from "./stats.ts";

describe("percentile (nearest rank, as the C references compute it)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it("takes the smallest value with at least p of all values at or below it", () => {
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile(hundred, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
  });

  it("refuses no values", () => {
    expect(() => percentile([], 0.5)).toThrow(RangeError);
  });
});

describe("spread", () => {
  it("gives the median (mean of the middle two for an even count), the extremes and the quartiles", () => {
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, q1: 1, q3: 3, n: 4 });
    expect(spread([5, 1, 9])).toMatchObject({ median: 5, min: 1, max: 9 });
  });
});

describe("latencySummary", () => {
  it("sorts the samples and reads their median, p99 and p99.9", () => {
    const samples = new Float64Array(200).map((_, i) => (i % 2 === 0 ? 200 - i : i));
    expect(latencySummary(samples)).toEqual({ median: 100, p99: 198, p999: 200 });
  });
});
