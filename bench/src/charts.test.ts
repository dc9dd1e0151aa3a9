import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineChartSvg, PUBLISHED_CHARTS_DIR, setChartsDir, writeChart } from './charts.js';

/** The drawn lines of a vega SVG: one `<path>` per series inside the line marks. */
function linePaths(svg: string): string[] {
  return svg.match(/<path[^>]*aria-roledescription="line mark"[^>]*>/g) ?? [];
}

/** Every text the SVG shows (axis titles, labels, legend, title). */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? '');
}

describe('charts', () => {
  it('draws one line per series with its name in the legend and both axis titles', async () => {
    const svg = await lineChartSvg({
      title: 'Catalog search by products',
      xLabel: 'products',
      yLabel: 'latency (ms)',
      xLog: true,
      yLog: true,
      series: [
        {
          name: 'search p50',
          points: [
            { x: 1000, y: 3 },
            { x: 10_000, y: 20 },
            { x: 100_000, y: 180 },
          ],
        },
        {
          name: 'search p99',
          points: [
            { x: 1000, y: 9 },
            { x: 10_000, y: 60 },
            { x: 100_000, y: 400 },
          ],
        },
        {
          name: 'by id p99',
          points: [
            { x: 1000, y: 2 },
            { x: 10_000, y: 2 },
            { x: 100_000, y: 2 },
          ],
        },
      ],
    });
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const shown = texts(svg);
    for (const text of [
      'Catalog search by products',
      'products',
      'latency (ms)',
      'search p50',
      'search p99',
      'by id p99',
    ]) {
      assert.ok(shown.includes(text), `the SVG shows "${text}" (it shows ${shown.join(' | ')})`);
    }
    assert.equal(linePaths(svg).length, 3, 'a path per series');
  });

  it('leaves out points a log axis cannot draw instead of failing', async () => {
    const svg = await lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      xLog: true,
      yLog: true,
      series: [
        {
          name: 'kept',
          points: [
            { x: 1, y: 1 },
            { x: 10, y: 0 },
            { x: 100, y: Number.NaN },
            { x: 1000, y: 5 },
          ],
        },
        { name: 'nothing drawable', points: [{ x: 0, y: 1 }] },
      ],
    });
    const [line, ...others] = linePaths(svg);
    assert.equal(others.length, 0, 'only the series with drawable points has a line');
    // Two points left: a move and one line segment.
    assert.match(line ?? '', / d="M[\d.,-]+L[\d.,-]+"/);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });

  describe('writeChart', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'emporium-charts-test-'));
    });
    after(async () => {
      setChartsDir(PUBLISHED_CHARTS_DIR);
      await rm(dir, { recursive: true, force: true });
    });

    it('writes <name>.svg into the run’s charts folder, creating it', async () => {
      setChartsDir(join(dir, 'charts'));
      const file = await writeChart('catalog-growth', '<svg/>');
      assert.equal(file, join(dir, 'charts', 'catalog-growth.svg'));
      assert.equal(await readFile(file, 'utf8'), '<svg/>');
    });

    it('writes nothing in a run without a charts folder', async () => {
      setChartsDir(undefined);
      assert.match(await writeChart('saga', '<svg/>'), /not written/);
    });

    it('refuses a name that would leave the folder', async () => {
      setChartsDir(dir);
      await assert.rejects(writeChart('../README', '<svg/>'), RangeError);
      await assert.rejects(writeChart('', '<svg/>'), RangeError);
    });
  });
});
