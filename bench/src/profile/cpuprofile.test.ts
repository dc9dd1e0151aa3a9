import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  byFamily,
  locationOf,
  nearestPackageName,
  packageOfUrl,
  parseCpuProfile,
  summarise,
  type CpuProfile,
} from './cpuprofile.js';

const frame = (functionName: string, url = '', lineNumber = -1) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

const workspaces = (file: string): string | undefined =>
  file.startsWith('/repo/services/catalog/') ? '@emporium/catalog' : undefined;

/**
 * A small tree: express calls into the OpenTelemetry SDK, which calls a native builtin; one
 * gap between samples is four times the interval (the thread waited for a core), which must
 * not make the sample before it weigh more.
 */
const PROFILE: CpuProfile = parseCpuProfile({
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 9, 10, 11] },
    { id: 2, callFrame: frame('(program)') },
    { id: 3, callFrame: frame('(idle)') },
    { id: 4, callFrame: frame('(garbage collector)') },
    {
      id: 5,
      callFrame: frame('handle', 'file:///repo/node_modules/express/lib/router/layer.js', 84),
      children: [6, 7],
    },
    {
      id: 6,
      callFrame: frame(
        'startSpan',
        'file:///repo/node_modules/@opentelemetry/sdk-trace-base/build/src/Tracer.js',
        39,
      ),
      children: [8],
    },
    { id: 7, callFrame: frame('writeHead', 'node:_http_server', 99) },
    { id: 8, callFrame: frame('stringify') },
    {
      id: 9,
      callFrame: frame('getProduct', 'file:///repo/services/catalog/src/routes/products.ts?x=1', 8),
    },
    { id: 10, callFrame: frame('writev') },
    // Node's own work, called by no package (the HTTP parser on a socket's data).
    { id: 11, callFrame: frame('parserOnHeadersComplete', 'node:_http_common', 71) },
  ],
  startTime: 0,
  endTime: 16_000,
  samples: [2, 3, 3, 5, 6, 6, 8, 7, 9, 4, 10, 11],
  // The gap after the native stringify (index 6) is 4 ms; the interval is 1 ms.
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 4000, 1000, 1000, 1000, 1000],
});

const options = { workspaceOf: workspaces, repoRoot: '/repo' };

describe('cpuprofile summary', () => {
  it('names the package of a frame from its URL', () => {
    const deep = 'file:///r/node_modules/express/node_modules/debug/src/index.js';
    assert.equal(packageOfUrl(deep, workspaces), 'debug');
    assert.equal(
      packageOfUrl('file:///r/node_modules/@opentelemetry/api/build/x.js', workspaces),
      '@opentelemetry/api',
    );
    assert.equal(packageOfUrl('node:internal/streams/writable', workspaces), 'node (internal)');
    assert.equal(packageOfUrl('node:http', workspaces), 'node (internal)');
    assert.equal(
      packageOfUrl('file:///repo/services/catalog/src/app.ts', workspaces),
      '@emporium/catalog',
    );
    assert.equal(packageOfUrl('file:///elsewhere/x.js', workspaces), '(other)');
    assert.equal(packageOfUrl('evalmachine.<anonymous>', workspaces), '(other)');
    assert.equal(packageOfUrl('', workspaces), undefined);
  });

  it('reads workspace names from the nearest package.json', () => {
    assert.equal(nearestPackageName(fileURLToPath(import.meta.url)), '@emporium/bench');
  });

  it('shows locations inside their package or the repo, 1-based', () => {
    assert.equal(
      locationOf('file:///repo/node_modules/pino/lib/proto.js', 9, '/repo'),
      'pino/lib/proto.js:10',
    );
    assert.equal(
      locationOf('file:///repo/services/catalog/src/app.ts', 0, '/repo'),
      'services/catalog/src/app.ts:1',
    );
    assert.equal(locationOf('node:_http_server', 99), 'node:_http_server:100');
    assert.equal(locationOf('', 3), '(native)');
  });

  it('counts samples at the sampling interval and gives shares of non-idle time', () => {
    const s = summarise(PROFILE, options);
    assert.equal(s.samples, 12);
    assert.equal(s.totalMs, 12);
    assert.equal(s.idleMs, 2);
    assert.equal(s.busyMs, 10);
    const packages = Object.fromEntries(s.packages.map((p) => [p.name, p.ms]));
    assert.deepEqual(packages, {
      // startSpan twice and the native stringify it calls once, long gap after it or not.
      '@opentelemetry/sdk-trace-base': 3,
      '(program)': 1,
      '(idle)': 2,
      '(garbage collector)': 1,
      express: 1,
      'node (internal)': 2,
      '@emporium/catalog': 1,
      // A native frame right under the root has no caller to charge.
      '(native)': 1,
    });
    assert.equal(s.packages[0]?.share, 0.3);
    assert.equal(s.packages.find((p) => p.name === '(idle)')?.share, 0);
  });

  it("charges Node's internals to the package that called them", () => {
    const s = summarise(PROFILE, options);
    const withNode = Object.fromEntries(s.packages.map((p) => [p.name, p.withNodeMs]));
    // writeHead under express is express's; the parser under no package stays Node's own.
    assert.equal(withNode.express, 2);
    assert.equal(withNode['node (internal)'], 1);
    assert.equal(withNode['@opentelemetry/sdk-trace-base'], 3);
    assert.equal(s.packages.find((p) => p.name === 'express')?.withNodeShare, 0.2);
  });

  it('keeps functions of a one-line module apart by column and maps them to source lines', () => {
    const url = 'file:///repo/services/catalog/src/app.ts';
    const s = summarise(
      parseCpuProfile({
        nodes: [
          { id: 1, callFrame: frame('(root)'), children: [2, 3] },
          { id: 2, callFrame: { ...frame('', url, 0), columnNumber: 10 } },
          { id: 3, callFrame: { ...frame('', url, 0), columnNumber: 500 } },
        ],
        startTime: 0,
        endTime: 3000,
        samples: [2, 3, 3],
        timeDeltas: [0, 1000, 1000],
      }),
      { ...options, originalLine: (_url, _line, column) => (column === 10 ? 4 : undefined) },
    );
    assert.deepEqual(
      s.functions.map((f) => [f.location, f.ms]),
      [
        ['services/catalog/src/app.ts:1', 2],
        ['services/catalog/src/app.ts:5', 1],
      ],
    );
  });

  it('lists the top functions with package, location and share', () => {
    const s = summarise(PROFILE, { ...options, top: 3 });
    assert.equal(s.functions.length, 3);
    assert.deepEqual(s.functions[0], {
      functionName: 'startSpan',
      packageName: '@opentelemetry/sdk-trace-base',
      location: '@opentelemetry/sdk-trace-base/build/src/Tracer.js:40',
      ms: 2,
      share: 0.2,
    });
    const all = summarise(PROFILE, options).functions;
    // A native frame is listed as itself under its caller's package.
    assert.deepEqual(
      all.find((f) => f.functionName === 'stringify'),
      {
        functionName: 'stringify',
        packageName: '@opentelemetry/sdk-trace-base',
        location: '(native)',
        ms: 1,
        share: 0.1,
      },
    );
    assert.ok(all.every((f) => f.functionName !== '(idle)'));
  });

  it('counts only the samples of a time window', () => {
    // Samples at 4, 5, 6 and 7 ms: express, startSpan twice, stringify; the next is at 11 ms.
    const s = summarise(PROFILE, { ...options, window: { fromUs: 4000, toUs: 8000 } });
    assert.equal(s.samples, 4);
    assert.equal(s.busyMs, 4);
    assert.deepEqual(
      s.packages.map((p) => [p.name, p.ms]),
      [
        ['@opentelemetry/sdk-trace-base', 3],
        ['express', 1],
      ],
    );
  });

  it('falls back to hit counts without samples', () => {
    const { samples: _s, timeDeltas: _t, ...rest } = PROFILE;
    const nodes = rest.nodes.map((n) => ({ ...n, hitCount: n.id === 6 ? 3 : n.id === 1 ? 0 : 1 }));
    // 12 hits over 12 ms: 1 ms each (one of them idle).
    const s = summarise({ ...rest, nodes, endTime: 12_000 }, options);
    assert.equal(s.busyMs, 11);
    assert.deepEqual(s.packages[0], {
      name: '@opentelemetry/sdk-trace-base',
      ms: 4,
      share: 4 / 11,
      withNodeMs: 4,
      withNodeShare: 4 / 11,
    });
    assert.throws(
      () => summarise({ ...rest, nodes }, { window: { fromUs: 0, toUs: 1 } }),
      /window/,
    );
  });

  it('groups @opentelemetry/* as one family', () => {
    const s = summarise(
      {
        ...PROFILE,
        nodes: PROFILE.nodes.map((n) =>
          n.id === 9
            ? {
                ...n,
                callFrame: frame('export', 'file:///r/node_modules/@opentelemetry/core/x.js'),
              }
            : n,
        ),
      },
      options,
    );
    const family = byFamily(s)[0];
    assert.equal(family?.name, '@opentelemetry/*');
    // The SDK's 3 ms and the 1 ms of the frame moved into @opentelemetry/core.
    assert.equal(family.ms, 4);
    assert.ok(Math.abs(family.share - 0.4) < 1e-12);
  });

  it('rejects what is not a profile', () => {
    assert.throws(() => parseCpuProfile({ nodes: [] }));
    assert.throws(() => parseCpuProfile({ startTime: 0, endTime: 1 }));
  });
});
