import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot, ensureTool, repoRoot } from '@emporium/harness';
import { parse } from 'yaml';
import {
  BASE_INPUTS_LABEL,
  checkInfraImage,
  ENVOY_SIDECAR_ARGS,
  ensureInfraImage,
  ensureRuntimeImage,
  INFRA_IMAGES,
  INFRA_INPUTS_LABEL,
  INFRA_NAMES,
  infraCheckPlan,
  infraCheckScript,
  infraConfigArgs,
  infraRecipe,
  localInfraImage,
  manifestContainers,
  RUNTIME_IMAGE,
  runtimeMmdebstrapArgs,
  type InfraSources,
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

const exec = promisify(execFile);

/** Sources for recipes in tests: names only, nothing read. */
const FAKE_SOURCES: InfraSources = {
  kafkaLibs: '/k/libs',
  kafkaLog4j: '/k/log4j2.properties',
  ferretdb: '/f/ferretdb',
  jaeger: '/j/jaeger',
  envoy: '/e/envoy',
  prometheus: '/p/prometheus',
  promtool: '/p/promtool',
};

/** Runs one of scripts/images' entrypoints with `sh` on this machine, with only `env` set. */
async function entrypoint(script: string, env: Record<string, string>, args: string[] = []) {
  return exec('sh', [join(root, 'scripts', 'images', script), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
}

describe('npm run images: the dev infrastructure images', () => {
  it('has a local stand-in for every upstream image of k8s/ and the chart’s Envoy sidecar', () => {
    const upstream = new Set(
      manifestContainers()
        .map((container) => container.image)
        // The dev issuer runs the gateway's own image, which the service builds make.
        .filter((image) => !image.startsWith('emporium/')),
    );
    const values = parse(readFileSync(join(root, 'charts', 'emporium', 'values.yaml'), 'utf8')) as {
      mesh: { envoy: { image: { repository: string; tag: string } } };
    };
    const envoy = values.mesh.envoy.image;
    upstream.add(`${envoy.repository}:${envoy.tag}`);
    const covered = new Set(INFRA_IMAGES.map((entry) => entry.upstream));
    for (const image of upstream) assert.ok(covered.has(image), `no local image for ${image}`);
    // Prometheus is the one no manifest names yet (the e2e deploys it); nothing else is extra.
    assert.deepEqual(
      [...covered].filter((image) => !upstream.has(image)),
      ['prom/prometheus:v3.16.0'],
    );
    for (const entry of INFRA_IMAGES) {
      assert.match(entry.image, /^localhost\/emporium-dev\/[a-z-]+:[\w.-]+$/);
      assert.equal(localInfraImage(entry.upstream), entry.image);
    }
    assert.equal(new Set(INFRA_IMAGES.map((entry) => entry.image)).size, INFRA_IMAGES.length);
    assert.deepEqual(
      INFRA_NAMES,
      INFRA_IMAGES.map((entry) => entry.name),
    );
    assert.equal(localInfraImage('mongo:7.0'), undefined);
  });

  it('runs each image as the uid its manifest sets, with an entrypoint of the repository', () => {
    const containers = manifestContainers();
    for (const entry of INFRA_IMAGES) {
      const recipe = infraRecipe(entry.name, FAKE_SOURCES);
      const [uid, gid] = recipe.user.split(':').map(Number);
      const container = containers.find((candidate) => candidate.image === entry.upstream);
      if (container) {
        assert.equal(uid, container.user, `${entry.name}: image user vs ${container.file}`);
        assert.equal(gid, container.group, `${entry.name}: image group vs ${container.file}`);
        // Every folder the image makes for writing is one the manifest mounts.
        for (const dir of recipe.dirs) assert.ok(container.mounts.includes(dir.path), dir.path);
      }
      assert.notEqual(uid, 0);
      for (const file of recipe.files) {
        if (!file.source.startsWith(join(root, 'scripts', 'images'))) continue;
        accessSync(file.source, file.mode ? constants.X_OK : constants.R_OK);
      }
      const args = infraConfigArgs(recipe, 'digest');
      assert.ok(args.includes(`${INFRA_INPUTS_LABEL}=digest`));
      assert.ok(args.includes(`org.emporium.stands-in-for=${entry.upstream}`));
    }
    // The chart's sidecar runs as the distroless image's nonroot user.
    const sidecar = readFileSync(
      join(root, 'charts', 'emporium', 'templates', 'mesh', 'envoy', '_sidecar.tpl'),
      'utf8',
    );
    assert.match(sidecar, /runAsUser: 65532\n/);
    assert.equal(infraRecipe('envoy', FAKE_SOURCES).user, '65532:65532');
    // The collector is the jaeger image with another default, so their layers are shared.
    assert.equal(infraRecipe('otel-collector', FAKE_SOURCES).from, 'jaeger');
  });

  it('checks each image with its manifest’s args, env, ConfigMaps and readiness probe', () => {
    const kafka = infraCheckPlan(infraRecipe('kafka', FAKE_SOURCES));
    assert.equal(kafka.user, 1000);
    assert.equal(kafka.env.KAFKA_NODE_ID, '1');
    assert.deepEqual(kafka.writable, ['/var/lib/kafka/data']);
    assert.deepEqual(kafka.probe, { kind: 'tcp', port: 9092 });
    const mongo = infraCheckPlan(infraRecipe('mongodb', FAKE_SOURCES));
    assert.deepEqual(mongo.args, ['--bind_ip_all', '--wiredTigerCacheSizeGB', '0.25']);
    assert.deepEqual(mongo.probe, { kind: 'tcp', port: 27017 });
    const redis = infraCheckPlan(infraRecipe('redis', FAKE_SOURCES));
    assert.deepEqual(redis.probe, { kind: 'exec', command: ['redis-cli', 'ping'] });
    assert.equal(redis.user, 999);
    const jaeger = infraCheckPlan(infraRecipe('jaeger', FAKE_SOURCES));
    assert.deepEqual(jaeger.args, ['--config', 'file:/etc/jaeger/config.yaml']);
    assert.match(jaeger.files['/etc/jaeger/config.yaml'] ?? '', /jaeger_storage/);
    assert.deepEqual(jaeger.probe, { kind: 'http', port: 16686, path: '/api/services' });
    const collector = infraCheckPlan(infraRecipe('otel-collector', FAKE_SOURCES));
    assert.deepEqual(collector.args, ['--config=/etc/otelcol/config.yaml']);
    assert.deepEqual(collector.probe, { kind: 'tcp', port: 4317 });
    const script = infraCheckScript(redis);
    assert.match(script, /until 'redis-cli' 'ping' >\/dev\/null 2>&1; do/);
    // The manifest's volume is left out of the search for writes.
    assert.ok(script.includes(String.raw`-path '/data' \) -prune`));
  });

  it('passes the chart’s Envoy sidecar arguments to the Envoy image', () => {
    const sidecar = readFileSync(
      join(root, 'charts', 'emporium', 'templates', 'mesh', 'envoy', '_sidecar.tpl'),
      'utf8',
    );
    const block = /\n {2}args:\n((?: {4}.*\n)+)/.exec(sidecar)?.[1] ?? '';
    const values = { logLevel: 'warn', concurrency: '2' };
    const args = block
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('- '))
      .map((line) =>
        line
          .slice(2)
          .replace('{{ $envoy.logLevel }}', values.logLevel)
          .replace('{{ $envoy.concurrency | quote }}', values.concurrency),
      );
    assert.deepEqual(args, ENVOY_SIDECAR_ARGS);
    const chart = parse(readFileSync(join(root, 'charts', 'emporium', 'values.yaml'), 'utf8')) as {
      mesh: { envoy: { logLevel: string; concurrency: number } };
    };
    assert.equal(chart.mesh.envoy.logLevel, values.logLevel);
    assert.equal(String(chart.mesh.envoy.concurrency), values.concurrency);
  });

  it('builds the shared runtime from Debian minbase with no mirror written down', () => {
    const args = runtimeMmdebstrapArgs('/out/rootfs.tar');
    assert.ok(
      args.includes(
        '--include=ca-certificates,openjdk-17-jre-headless,redis-server,redis-tools,usr-is-merged,usrmerge-',
      ),
    );
    assert.ok(args.some((arg) => arg.includes('useradd --uid 1000 --gid appuser')));
    // Perl (which usrmerge would bring) is dropped before the tarball is made.
    const autoremove = args.findIndex((arg) => arg.includes('autoremove --purge'));
    assert.ok(args.findIndex((arg) => arg.includes('apt-mark auto perl ')) < autoremove);
    assert.ok(autoremove > 0);
    assert.deepEqual(
      args.filter((arg) => !arg.startsWith('--')),
      ['bookworm', '/out/rootfs.tar'],
    );
    assert.ok(args.every((arg) => !arg.includes('://')));
  });

  it('turns the manifest’s KAFKA_* env into broker properties as the official image does', async () => {
    const logDir = await mkdtemp(join(tmpdir(), 'emporium-kafka-entrypoint-'));
    try {
      const container = manifestContainers().find((c) => c.image === 'apache/kafka:4.1.1');
      assert.ok(container);
      const env = {
        ...container.env,
        KAFKA_LOG_DIRS: logDir,
        KAFKA_ENTRYPOINT_DRY_RUN: '1',
        KAFKA_SOME__ODD___NAME: 'x',
      };
      const { stdout } = await entrypoint('kafka-entrypoint.sh', env);
      const lines = stdout.trim().split('\n');
      const properties = lines.filter((line) => !line.startsWith('java '));
      assert.deepEqual(properties, [
        'advertised.listeners=PLAINTEXT://kafka.emporium.svc.cluster.local:9092',
        'controller.listener.names=CONTROLLER',
        'controller.quorum.voters=1@localhost:9093',
        'group.initial.rebalance.delay.ms=0',
        // In the order of the variables' names (KAFKA_LISTENERS before KAFKA_LISTENER_…).
        'listeners=PLAINTEXT://:9092,CONTROLLER://:9093',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${logDir}`,
        'node.id=1',
        'offsets.topic.replication.factor=1',
        'process.roles=broker,controller',
        'some_odd-name=x',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.replication.factor=1',
      ]);
      const [format, broker] = lines.filter((line) => line.startsWith('java '));
      // Unformatted: the storage is formatted first, with the manifest's heap.
      assert.match(
        format ?? '',
        /^java -XX:-UsePerfData -Xms256m -Xmx512m .* kafka\.tools\.StorageTool format /,
      );
      assert.match(
        broker ?? '',
        / kafka\.Kafka \/opt\/kafka\/config\/empty\.properties --override /,
      );
      assert.match(broker ?? '', / --override node\.id=1 /);
      assert.doesNotMatch(broker ?? '', /heap\.opts/);
      // Formatted (a restarted pod): straight to the broker.
      writeFileSync(join(logDir, 'meta.properties'), 'node.id=1\n');
      const again = await entrypoint('kafka-entrypoint.sh', env);
      assert.doesNotMatch(again.stdout, /StorageTool/);
      await assert.rejects(
        entrypoint('kafka-entrypoint.sh', { KAFKA_NODE_ID: '1' }),
        /set KAFKA_LOG_DIRS/,
      );
    } finally {
      await rm(logDir, { recursive: true, force: true });
    }
  });

  it('gives redis-server the manifest’s args with protected mode off, as the official image', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'emporium-redis-entrypoint-'));
    try {
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'redis-server'), '#!/bin/sh\nprintf "%s|" "$@"\n', { mode: 0o755 });
      const path = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
      const container = manifestContainers().find((c) => c.image === 'redis:7.4-alpine');
      const args = container?.args ?? [];
      const { stdout } = await entrypoint('redis-entrypoint.sh', { PATH: path }, args);
      assert.equal(stdout, `--protected-mode|no|${args.join('|')}|`);
      const conf = await entrypoint('redis-entrypoint.sh', { PATH: path }, [
        '/r.conf',
        '--port',
        '1',
      ]);
      assert.equal(conf.stdout, '/r.conf|--protected-mode|no|--port|1|');
      // The image's own default command, `redis-server`, gets the same treatment.
      const bare = await entrypoint('redis-entrypoint.sh', { PATH: path }, ['redis-server']);
      assert.equal(bare.stdout, '--protected-mode|no|');
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it('runs the OTel collector config on the Jaeger binary: every component it names is in it', async () => {
    const collector = manifestContainers().find(
      (c) => c.image === 'otel/opentelemetry-collector-contrib:0.140.0',
    );
    const config = parse(collector?.configFiles['/etc/otelcol']?.['config.yaml'] ?? '') as Record<
      string,
      Record<string, unknown> | undefined
    >;
    const { bin } = await ensureTool('jaeger');
    const components = parse((await exec(bin, ['components'])).stdout) as Record<
      string,
      { name: string }[] | undefined
    >;
    for (const kind of ['receivers', 'processors', 'exporters', 'extensions']) {
      const have = (components[kind] ?? []).map((component) => component.name);
      for (const id of Object.keys(config[kind] ?? {})) {
        // A component id is `type` or `type/name`.
        assert.ok(have.includes(id.split('/')[0] ?? ''), `jaeger has no ${kind} ${id}`);
      }
    }
  });

  it('builds the runtime and the Redis image, which answers redis-cli ping as uid 999', async function () {
    if (process.getuid?.() !== 0) this.skip();
    // Warm (both there with the same inputs) this takes about a second; cold, about a minute.
    this.timeout(300_000);
    const { bin: buildah } = await ensureTool('buildah');
    const { bin: mmdebstrap } = await ensureTool('mmdebstrap');
    const logFile = join(cacheRoot(), 'logs', 'images-runtime.log');
    const runtime = await ensureRuntimeImage({ buildah, mmdebstrap, logFile });
    assert.equal(runtime.image, RUNTIME_IMAGE);
    const recipe = infraRecipe('redis', FAKE_SOURCES);
    const redis = await ensureInfraImage(recipe, { buildah, logFile });
    assert.equal(redis.image, 'localhost/emporium-dev/redis:7');
    const check = await checkInfraImage(buildah, 'redis', recipe);
    assert.equal(check.uid, 999);
    assert.deepEqual(check.wrote, []);
    assert.equal(check.stopped, 0);
  });
});
