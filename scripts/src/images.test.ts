import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, ensureTool, repoRoot } from '@emporium/harness';
import { parse } from 'yaml';
import {
  BASE_INPUTS_LABEL,
  baseInputsDigest,
  baseTarget,
  buildNpmrc,
  BUILD_CA_FILE,
  ensureBaseImage,
  imageLabel,
  mmdebstrapArgs,
  NPM_VERSION,
  output,
  qualifiedImageName,
  serviceBuildArgs,
  serviceImage,
  serviceNames,
} from './images/index.js';

const root = repoRoot();
const dockerfile = readFileSync(join(root, 'services', 'Dockerfile'), 'utf8');

describe('npm run images', () => {
  it('names images as Docker and Kubernetes read them, so buildah finds the Dockerfile’s FROM', () => {
    assert.equal(
      qualifiedImageName('node:24-bookworm-slim'),
      'docker.io/library/node:24-bookworm-slim',
    );
    assert.equal(qualifiedImageName('emporium/orders:dev'), 'docker.io/emporium/orders:dev');
    assert.equal(
      qualifiedImageName('localhost:5000/emporium/orders'),
      'localhost:5000/emporium/orders',
    );
    assert.equal(qualifiedImageName('localhost/emporium/orders'), 'localhost/emporium/orders');
    assert.equal(
      qualifiedImageName('registry.example/emporium/orders'),
      'registry.example/emporium/orders',
    );
  });

  it('makes the base the Dockerfile names, with the Node major pinned in package.json', () => {
    const target = baseTarget(dockerfile);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const pinned = pkg.devDependencies.node ?? '';
    assert.equal(target.nodeMajor, Number(pinned.split('.')[0]), `node ${pinned} vs ${target.ref}`);
    assert.equal(target.image, qualifiedImageName(target.ref));
    assert.equal(target.suite, 'bookworm');
    assert.throws(() => baseTarget('FROM node:24\n'), /ARG NODE_IMAGE/);
    assert.throws(
      () => baseTarget('ARG NODE_IMAGE=node:24-alpine\n'),
      /node:<major>-<debian suite>-slim/,
    );
  });

  it('builds the root file system from Debian minbase with no mirror written down, and a node user', () => {
    const args = mmdebstrapArgs('bookworm', '/stage', '/out/rootfs.tar');
    assert.ok(args.includes('--variant=minbase'));
    assert.ok(args.includes('--include=ca-certificates'));
    assert.ok(args.includes('--customize-hook=sync-in /stage /'));
    assert.ok(args.some((arg) => arg.includes('useradd --uid 1000 --gid node')));
    assert.deepEqual(args.slice(-2), ['bookworm', '/out/rootfs.tar']);
    // Only options, the suite and the output: no mirror argument, so no host name in the recipe.
    assert.deepEqual(
      args.filter((arg) => !arg.startsWith('--')),
      ['bookworm', '/out/rootfs.tar'],
    );
    assert.ok(args.every((arg) => !arg.includes('://')));
  });

  it('keys the base image by its inputs: the same inputs, the same digest; another node, another', () => {
    const target = baseTarget(dockerfile);
    const digest = baseInputsDigest(target, '24.21.0', 'a'.repeat(64));
    assert.equal(baseInputsDigest(target, '24.21.0', 'a'.repeat(64)), digest);
    assert.notEqual(baseInputsDigest(target, '24.21.0', 'b'.repeat(64)), digest);
    assert.notEqual(baseInputsDigest(target, '24.21.1', 'a'.repeat(64)), digest);
  });

  it('lends the build the host’s registry settings and CA, and nothing host-specific else', () => {
    const user = [
      'nodedir=/usr/include/node',
      'registry=https://registry.example/npm/',
      '//registry.example/npm/:_authToken=secret',
      '@acme:registry=https://registry.example/acme/',
      'omit-lockfile-registry-resolved=true',
    ].join('\n');
    const npmrc = buildNpmrc(user, 'https://registry.example/npm/', true).split('\n');
    assert.ok(!npmrc.some((line) => line.startsWith('nodedir')));
    assert.ok(npmrc.includes('//registry.example/npm/:_authToken=secret'));
    assert.ok(npmrc.includes('@acme:registry=https://registry.example/acme/'));
    assert.ok(npmrc.includes('registry=https://registry.example/npm/'));
    assert.ok(npmrc.includes(`cafile=${BUILD_CA_FILE}`));
    assert.ok(!buildNpmrc('', 'https://registry.example/', false).includes('cafile'));
  });

  it('builds an image for each service skaffold.yaml and values-kind.yaml name, tagged as they expect', () => {
    const skaffold = readFileSync(join(root, 'skaffold.yaml'), 'utf8');
    const artifacts = [...skaffold.matchAll(/^\s+- image: (emporium\/[\w-]+)$/gm)].map((m) => m[1]);
    const kind = parse(
      readFileSync(join(root, 'charts', 'emporium', 'values-kind.yaml'), 'utf8'),
    ) as {
      image: { tag: string };
      services: Record<string, { image?: { repository?: string } }>;
    };
    const services = serviceNames();
    assert.deepEqual(
      services.map((service) => `emporium/${service}`),
      [...new Set(artifacts)].sort(),
    );
    for (const service of services) {
      const repository = kind.services[service]?.image?.repository ?? '';
      assert.equal(serviceImage(service), qualifiedImageName(`${repository}:${kind.image.tag}`));
    }
    const args = serviceBuildArgs({
      service: 'orders',
      image: serviceImage('orders'),
      volumes: ['--volume', 'a:b'],
    });
    assert.deepEqual(args.slice(0, 1), ['build']);
    assert.ok(
      args.join(' ').includes('--file services/Dockerfile --build-arg SERVICE=orders --volume a:b'),
    );
    assert.deepEqual(args.slice(-3), ['--tag', 'docker.io/emporium/orders:dev', '.']);
    assert.ok(!args.includes('--no-cache'));
    assert.ok(
      serviceBuildArgs({ service: 'orders', image: 'x', noCache: true }).includes('--no-cache'),
    );
  });

  it('builds the base image with buildah and runs the pinned node and npm in it as uid 1000', async function () {
    if (process.getuid?.() !== 0) {
      // Rootless buildah needs subordinate ids and fuse-overlayfs; npm run images says so too.
      this.skip();
    }
    // Warm (the image is there with the same inputs) this takes a second; cold, about a minute.
    this.timeout(300_000);
    const { bin: buildah } = await ensureTool('buildah');
    const { bin: mmdebstrap } = await ensureTool('mmdebstrap');
    const base = await ensureBaseImage({
      buildah,
      mmdebstrap,
      logFile: join(cacheRoot(), 'logs', 'images-base.log'),
    });
    assert.equal(base.image, baseTarget(dockerfile).image);
    assert.match(await imageLabel(buildah, base.image, BASE_INPUTS_LABEL), /^[0-9a-f]{64}$/);
    const container = (await output(buildah, ['from', '--quiet', base.image])).trim();
    try {
      const out = await output(buildah, [
        'run',
        '--network',
        'none',
        '--user',
        'node',
        container,
        '--',
        'sh',
        '-c',
        'node --version; npm --version; id -u; test -s /etc/ssl/certs/ca-certificates.crt && echo ca',
      ]);
      const pkg = JSON.parse(
        readFileSync(join(root, 'node_modules', 'node', 'package.json'), 'utf8'),
      ) as {
        version: string;
      };
      assert.deepEqual(out.trim().split('\n'), [`v${pkg.version}`, NPM_VERSION, '1000', 'ca']);
    } finally {
      await output(buildah, ['rm', container]);
    }
  });
});
