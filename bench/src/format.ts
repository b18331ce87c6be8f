/** Number formats and plain-text tables for the console and the README. */

function grouped(value: number, digits: number): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Digits after the point so that about three significant digits show. */
function digitsFor(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return 0;
  if (magnitude >= 10) return 1;
  if (magnitude >= 1) return 2;
  return 3;
}

export function number3(value: number): string {
  return grouped(value, digitsFor(value));
}

/** Bytes per second as MB/s (10^6), e.g. "7,347". */
export function megabytesPerSecond(bytesPerSecond: number): string {
  return number3(bytesPerSecond / 1e6);
}

export function microseconds(seconds: number): string {
  return number3(seconds * 1e6);
}

export function nanoseconds(seconds: number): string {
  return number3(seconds * 1e9);
}

export function mebibytes(bytes: number): string {
  return number3(bytes / 2 ** 20);
}

export function ratio(value: number): string {
  return `${number3(value)}×`;
}

/** "median [min–max]" with one formatter. */
export function withRange(spread: { median: number; min: number; max: number }, format: (value: number) => string): string {
  return `${format(spread.median)} [${format(spread.min)}–${format(spread.max)}]`;
}

/** Columns padded to their widest cell; numbers (cells starting with a digit) right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const numeric = headers.map((_, column) => rows.length > 0 && rows.every((row) => /^[\d–-]|^$/.test(row[column] ?? "")));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}
