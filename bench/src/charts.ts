import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '@emporium/harness';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One line of a chart: a name for the legend and its points. */
export interface ChartSeries {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** What {@link lineChartSvg} draws. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** A log scale on x: growth curves span 1 → 100k. */
  xLog?: boolean;
  yLog?: boolean;
  series: readonly ChartSeries[];
}

/** Where a published run's charts go, beside bench/README.md which embeds them. */
export const PUBLISHED_CHARTS_DIR = join(repoRoot(), 'bench', 'charts');

/**
 * Where {@link writeChart} writes, or undefined when this run writes no charts. main.ts sets it
 * by the rule of the JSON: bench/charts for a published run, the `--out` folder for another
 * full-profile run; a smoke, or an `--only` run without `--out`, writes none, so neither ever
 * replaces the charts the README embeds (nor litters the smoke's out folder).
 */
let chartsDir: string | undefined = PUBLISHED_CHARTS_DIR;

/** Points writeChart at `dir` (undefined: write none) for the rest of the process. */
export function setChartsDir(dir: string | undefined): void {
  chartsDir = dir;
}

/** A chart's file name: a slug, so a name can never leave the charts folder. */
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/**
 * Whether a point can be drawn: finite, and positive on a log axis (log 0 is -∞, and vega
 * would draw a line off the chart or nothing at all for the whole series).
 */
function drawable(options: LineChartOptions, x: number, y: number): boolean {
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  if (options.xLog === true && x <= 0) return false;
  if (options.yLog === true && y <= 0) return false;
  return true;
}

/** The vega-lite spec of a line chart: one coloured line with point marks per series. */
export function lineChartSpec(options: LineChartOptions): TopLevelSpec {
  const values = options.series.flatMap((s) =>
    s.points
      .filter((p) => drawable(options, p.x, p.y))
      .map((p) => ({ series: s.name, x: p.x, y: p.y })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    width: 560,
    height: 320,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true, tooltip: false },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: options.xLabel,
        // The measured sizes are the domain: a "nice" log axis would run on to the next power
        // of ten and leave a blank strip (50 lines → 100).
        scale: options.xLog === true ? { type: 'log', nice: false } : { zero: false, nice: false },
        // Ticks at the measured sizes read better than vega's picks on a log axis.
        axis: { values: [...new Set(values.map((v) => v.x))].sort((a, b) => a - b) },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: options.yLabel,
        scale: options.yLog === true ? { type: 'log' } : {},
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        // The legend in the order the caller gave, not alphabetical.
        sort: options.series.map((s) => s.name),
        // Below the plot: without a canvas vega guesses text widths, and a legend on the right
        // was cut off at the SVG's edge; below, it has the plot's whole width.
        legend: { orient: 'bottom', direction: 'horizontal', columns: 2, labelLimit: 260 },
      },
    },
  };
}

/**
 * Renders a line chart to a standalone SVG document with vega-lite and vega's headless
 * renderer (no canvas, no browser). Undrawable points (non-finite, or ≤ 0 on a log axis) are
 * left out rather than failing the chart.
 */
export async function lineChartSvg(options: LineChartOptions): Promise<string> {
  const { spec } = compile(lineChartSpec(options));
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes `<name>.svg` into this run's charts folder (created if missing) and returns its path;
 * in a run that writes no charts, returns a note saying so instead.
 */
export async function writeChart(name: string, svg: string): Promise<string> {
  if (!CHART_NAME.test(name)) {
    throw new RangeError(`chart name ${JSON.stringify(name)}: expected letters, digits, - or _`);
  }
  if (chartsDir === undefined)
    return `${name}.svg (not written: smoke or --only run without --out)`;
  await mkdir(chartsDir, { recursive: true });
  const file = join(chartsDir, `${name}.svg`);
  await writeFile(file, svg);
  return file;
}
