import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { repoRoot } from '@emporium/harness';
import { SERVICES } from '@emporium/scripts/stack';
import { parseAllDocuments } from 'yaml';
import { parseObjects, type KubeObject } from './chart.js';
import { SKAFFOLD_PROFILES, skaffold } from './skaffold.js';

/** A helm release of a skaffold config. */
interface HelmRelease {
  name: string;
  valuesFiles?: string[];
  setValues?: Record<string, unknown>;
}

/** The parts of a skaffold config these checks read. */
interface SkaffoldConfig {
  metadata: { name: string };
  build?: {
    artifacts?: {
      image: string;
      docker?: { dockerfile?: string; buildArgs?: Record<string, string> };
    }[];
    platforms?: string[];
    local?: { push?: boolean };
  };
  manifests?: { rawYaml?: string[] };
  deploy?: {
    helm?: { releases?: HelmRelease[] };
  };
}

/** Every service with an image: the store's eight and loadgen. */
const IMAGES = [...SERVICES.map((s) => s.name), 'loadgen'].map((name) => `emporium/${name}`);

async function diagnose(profile: string): Promise<SkaffoldConfig> {
  const text = await skaffold(['diagnose', '--yaml-only', '--profile', profile]);
  const configs = parseAllDocuments(text).map((d) => d.toJS() as SkaffoldConfig);
  const emporium = configs.find((c) => c.metadata.name === 'emporium');
  assert.ok(emporium, `profile ${profile} has the emporium config`);
  assert.ok(configs.some((c) => c.metadata.name === 'monitoring'));
  return emporium;
}

function release(config: SkaffoldConfig): HelmRelease {
  const found = config.deploy?.helm?.releases?.find((r) => r.name === 'emporium');
  assert.ok(found, 'the emporium helm release');
  return found;
}

describe('skaffold.yaml (the pinned skaffold, offline)', function () {
  this.timeout(10 * 60_000); // a cold machine builds skaffold first

  it('kube-prometheus-stack gets what the dashboards and alerts need: exemplars, the Jaeger datasource, Alertmanager, every release’s rules', async () => {
    const text = await skaffold(['diagnose', '--yaml-only', '--profile', 'kind']);
    const monitoring = parseAllDocuments(text)
      .map((d) => d.toJS() as SkaffoldConfig)
      .find((c) => c.metadata.name === 'monitoring');
    const stack = monitoring?.deploy?.helm?.releases?.find(
      (r) => r.name === 'kube-prometheus-stack',
    );
    assert.ok(stack?.valuesFiles?.length === 1, 'one values file');
    const values = parseAllDocuments(
      await readFile(resolve(repoRoot(), stack.valuesFiles[0] ?? ''), 'utf8'),
    )[0]?.toJS() as {
      grafana: {
        sidecar: { datasources: { exemplarTraceIdDestinations: { datasourceUid: string } } };
        additionalDataSources: { uid: string; type: string }[];
      };
      prometheus: { prometheusSpec: Record<string, unknown> };
      alertmanager: { enabled: boolean };
    };
    const jaeger = values.grafana.additionalDataSources.find((d) => d.type === 'jaeger');
    assert.ok(jaeger, 'a Jaeger datasource for the dashboards’ `jaeger` variable');
    assert.equal(
      values.grafana.sidecar.datasources.exemplarTraceIdDestinations.datasourceUid,
      jaeger.uid,
    );
    assert.deepEqual(values.prometheus.prometheusSpec.enableFeatures, ['exemplar-storage']);
    assert.equal(values.prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues, false);
    assert.equal(values.alertmanager.enabled, true);
  });

  it('every profile passes skaffold diagnose, building one image per service from services/Dockerfile', async () => {
    for (const profile of SKAFFOLD_PROFILES) {
      const config = await diagnose(profile);
      const artifacts = config.build?.artifacts ?? [];
      assert.deepEqual(artifacts.map((a) => a.image).sort(), [...IMAGES].sort(), profile);
      for (const a of artifacts) {
        assert.match(a.docker?.dockerfile ?? '', /services\/Dockerfile$/);
        assert.equal(`emporium/${a.docker?.buildArgs?.SERVICE ?? ''}`, a.image);
      }
    }
  });

  it('kind applies k8s/ and the chart with values-kind; eks pushes multi-arch images with values-eks and no dev infrastructure', async () => {
    const kind = await diagnose('kind');
    const k8sFiles = (await readdir(join(repoRoot(), 'k8s'))).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(
      (kind.manifests?.rawYaml ?? []).map((p) => p.replace(/^.*\/k8s\//, '')).sort(),
      k8sFiles.sort(),
      'every manifest in k8s/',
    );
    assert.match(release(kind).valuesFiles?.join() ?? '', /values-kind\.yaml/);
    assert.equal(kind.build?.local?.push, false);

    const eks = await diagnose('eks');
    assert.equal(eks.build?.local?.push, true);
    assert.deepEqual(eks.build.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(eks.manifests?.rawYaml, undefined);
    assert.match(release(eks).valuesFiles?.join() ?? '', /values-eks\.yaml/);
  });

  it('skaffold render --offline: the kind profile renders k8s/ and the chart with the built images', async () => {
    const objects = parseObjects(
      await skaffold(['render', '--offline', '--module', 'emporium', '--digest-source', 'tag']),
    );
    const named = (kind: string, name: string): KubeObject | undefined =>
      objects.find((o) => o.kind === kind && o.metadata.name === name);
    assert.ok(named('StatefulSet', 'kafka'));
    assert.ok(named('Deployment', 'dev-issuer'));
    const ns = named('Namespace', 'emporium');
    assert.equal(
      (ns?.metadata.labels as Record<string, string> | undefined)?.[
        'pod-security.kubernetes.io/enforce'
      ],
      'restricted',
    );
    for (const image of IMAGES) {
      const name = image.replace('emporium/', '');
      const deployment = named('Deployment', name);
      assert.ok(deployment, `Deployment ${name}`);
      assert.match(JSON.stringify(deployment), new RegExp(`"image":"${image}(:|@|")`), name);
    }
  });

  for (const mode of ['appmesh', 'lattice'] as const) {
    it(`skaffold render --offline -p ${mode} renders the chart in ${mode} mode`, async () => {
      const objects = parseObjects(
        await skaffold([
          'render',
          '--offline',
          '--module',
          'emporium',
          '--digest-source',
          'tag',
          '--profile',
          mode,
        ]),
      );
      const kind = mode === 'appmesh' ? 'VirtualNode' : 'HTTPRoute';
      assert.ok(
        objects.filter((o) => o.kind === kind).length >= SERVICES.length,
        `a ${kind} per service`,
      );
    });
  }
});
