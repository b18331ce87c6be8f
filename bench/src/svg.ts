/**
 * The chart of results/latest.svg, written by hand (no dependencies): throughput by message size as
 * grouped bars with min–max whiskers, and the 64 B round trip by mechanism as horizontal bars
 * (median) with a mark at p99. Both axes are logarithmic: the figures span four orders of magnitude.
 */
import { number3 } from "./format.ts";
import type { LatencySeries, StreamSeries } from "./measure.ts";
import type { Results } from "./results.ts";

const WIDTH = 980;
const FONT = `font-family="DejaVu Sans, Arial, sans-serif"`;
const PALETTES: Record<string, string[]> = {
  c: ["#333333", "#777777", "#aaaaaa"],
  core: ["#1f5fbf", "#3f9fdf", "#14866d", "#5cb85c", "#7a5195", "#17becf", "#2c3e9e", "#9bc53d", "#b8860b", "#e377c2", "#6b8e23"],
  node: ["#d9534f", "#f0883e", "#c9a227", "#a0522d"],
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function text(x: number, y: number, content: string, attributes = "", size = 12): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} font-size="${size}"${attributes ? ` ${attributes}` : ""}>${escapeXml(content)}</text>`;
}

/** A logarithmic axis over whole decades covering `values`. */
function logScale(values: number[], from: number, to: number): { at: (value: number) => number; decades: number[] } {
  const positive = values.filter((value) => value > 0);
  const low = Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...positive))));
  const at = (value: number): number => from + ((Math.log10(Math.max(value, 10 ** low)) - low) / (high - low)) * (to - from);
  const decades: number[] = [];
  for (let decade = low; decade <= high; decade++) decades.push(10 ** decade);
  return { at, decades };
}

/** One colour per series name, by family, in order of first appearance. */
function colours(names: { name: string; family: string }[]): Map<string, string> {
  const used: Record<string, number> = {};
  const result = new Map<string, string>();
  for (const { name, family } of names) {
    if (result.has(name)) continue;
    const palette = PALETTES[family] ?? PALETTES.node!;
    const index = used[family] ?? 0;
    used[family] = index + 1;
    result.set(name, palette[index % palette.length]!);
  }
  return result;
}

function throughputPanel(series: StreamSeries[], sizes: readonly number[], colour: Map<string, string>, top: number, where: string): { svg: string[]; height: number } {
  const height = 300;
  const left = 80;
  const right = 700;
  const bottom = top + height;
  const names = [...new Set(series.map((s) => s.name))];
  const values = series.flatMap((s) => [s.throughput.min / 1e6, s.throughput.max / 1e6]);
  const svg: string[] = [text(left, top - 12, `Streaming throughput by message size, ${where} (MB/s, log scale; bar = median, whisker = min–max)`, `font-weight="bold"`)];
  if (series.length === 0) return { svg: [...svg, text(left, top + 20, "no streaming results")], height: 40 };
  const scale = logScale(values, bottom, top);
  for (const decade of scale.decades) {
    const y = scale.at(decade);
    svg.push(`<line x1="${left}" x2="${right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#dddddd"/>`);
    svg.push(text(left - 6, y + 4, number3(decade), `text-anchor="end" fill="#555555"`));
  }
  const groupWidth = (right - left) / sizes.length;
  const barWidth = Math.min(18, (groupWidth - 20) / names.length);
  sizes.forEach((size, group) => {
    const groupLeft = left + group * groupWidth + (groupWidth - barWidth * names.length) / 2;
    svg.push(text(left + group * groupWidth + groupWidth / 2, bottom + 18, size >= 1024 ? `${size / 1024} KiB messages` : `${size} B messages`, `text-anchor="middle"`));
    names.forEach((name, index) => {
      const one = series.find((s) => s.name === name && s.size === size);
      if (!one) return;
      const x = groupLeft + index * barWidth;
      const y = scale.at(one.throughput.median / 1e6);
      svg.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(bottom - y).toFixed(1)}" fill="${colour.get(name)}"><title>${escapeXml(`${name}, ${size} B: ${number3(one.throughput.median / 1e6)} MB/s`)}</title></rect>`,
      );
      const middle = x + (barWidth - 2) / 2;
      svg.push(
        `<line x1="${middle.toFixed(1)}" x2="${middle.toFixed(1)}" y1="${scale.at(one.throughput.max / 1e6).toFixed(1)}" y2="${scale.at(one.throughput.min / 1e6).toFixed(1)}" stroke="#000000" stroke-width="1"/>`,
      );
    });
  });
  svg.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#000000"/>`);
  names.forEach((name, index) => {
    const y = top + index * 18;
    svg.push(`<rect x="${right + 20}" y="${y}" width="12" height="12" fill="${colour.get(name)}"/>`);
    svg.push(text(right + 38, y + 10, name));
  });
  return { svg, height: Math.max(height + 30, names.length * 18) };
}

function latencyPanel(series: LatencySeries[], colour: Map<string, string>, top: number, where: string): { svg: string[]; height: number } {
  const labelWidth = 170;
  const left = 20 + labelWidth;
  const right = WIDTH - 40;
  const rowHeight = 22;
  const svg: string[] = [text(80, top - 12, `64 B ping-pong round trip, ${where} (µs, log scale; bar = median, ◆ = p99)`, `font-weight="bold"`)];
  if (series.length === 0) return { svg: [...svg, text(80, top + 20, "no ping-pong results")], height: 40 };
  const scale = logScale(
    series.flatMap((s) => [s.median.median * 1e6, s.p99.median * 1e6]),
    left,
    right,
  );
  const bottom = top + series.length * rowHeight;
  for (const decade of scale.decades) {
    const x = scale.at(decade);
    svg.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#dddddd"/>`);
    svg.push(text(x, bottom + 16, number3(decade), `text-anchor="middle" fill="#555555"`));
  }
  series.forEach((one, index) => {
    const y = top + index * rowHeight;
    const end = scale.at(one.median.median * 1e6);
    svg.push(text(left - 8, y + 15, one.name, `text-anchor="end"`));
    svg.push(
      `<rect x="${left}" y="${y + 3}" width="${(end - left).toFixed(1)}" height="${rowHeight - 6}" fill="${colour.get(one.name)}"><title>${escapeXml(`${one.name}: median ${number3(one.median.median * 1e6)} µs, p99 ${number3(one.p99.median * 1e6)} µs`)}</title></rect>`,
    );
    const p99 = scale.at(one.p99.median * 1e6);
    const middle = y + rowHeight / 2;
    svg.push(`<path d="M${p99.toFixed(1)} ${(middle - 5).toFixed(1)} l5 5 l-5 5 l-5 -5 z" fill="#000000"/>`);
    // The value sits at the end of the bar, or past the p99 mark when the mark would cover it.
    const value = number3(one.median.median * 1e6);
    const width = value.length * 6.5;
    const at = p99 - 6 < end + 4 + width && p99 + 6 > end + 4 ? p99 + 9 : end + 4;
    svg.push(text(at, y + 15, value, `fill="#222222"`, 11));
  });
  svg.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#000000"/>`);
  return { svg, height: bottom - top + 30 };
}

const placementWords: Record<string, string> = {
  "2 CPUs": "each side pinned to its own CPU",
  "1 CPU": "both sides pinned to one CPU",
  unpinned: "sides not pinned",
};

export function chart(results: Results): string {
  const everyone = [...results.throughput, ...results.latency].map(({ name, family }) => ({ name, family }));
  const colour = colours(everyone);
  const { machine } = results;
  const title = `IPC benchmark, ${results.quick ? "quick run" : "full run"} of ${results.startedAt}`;
  const subtitle = `${machine.cpu}, ${machine.cores} cores; ${machine.kernel}; Node ${machine.node}; koffi ${machine.koffi}; load average ${machine.loadAverage.start.toFixed(2)}`;
  const body: string[] = [];
  let top = 96;
  for (const placement of results.placements) {
    const where = placementWords[placement] ?? placement;
    const panel = throughputPanel(
      results.throughput.filter((s) => s.placement === placement),
      results.plan.sizes,
      colour,
      top,
      where,
    );
    body.push(...panel.svg);
    top += panel.height + 60;
  }
  for (const placement of results.placements) {
    const where = placementWords[placement] ?? placement;
    const panel = latencyPanel(
      results.latency.filter((s) => s.placement === placement),
      colour,
      top,
      where,
    );
    body.push(...panel.svg);
    top += panel.height + 50;
  }
  const height = top;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(20, 24, title, `font-weight="bold"`, 14),
    text(20, 42, subtitle, `fill="#333333"`),
    text(20, 58, "Grey: C references. Blue/green: this project's core bindings. Red/orange: Node's built-ins. Higher is better above, shorter below.", `fill="#555555"`),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}
