import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { repoRoot } from '@emporium/harness';
import { INFRA_IMAGES } from '@emporium/scripts/images';
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
      custom?: {
        buildCommand?: string;
        dependencies?: { dockerfile?: { path?: string; buildArgs?: Record<string, string> } };
      };
    }[];
    platforms?: string[];
    local?: { push?: boolean };
  };
  manifests?: { rawYaml?: string[]; kustomize?: { paths?: string[] } };
  deploy?: {
    kubeContext?: string;
    kubectl?: unknown;
    helm?: { releases?: HelmRelease[] };
  };
}

/** Every service with an image: the store's eight and loadgen. */
const IMAGES = [...SERVICES.map((s) => s.name), 'loadgen'].map((name) => `emporium/${name}`);

/** A profile's store config and the dev infrastructure config it requires, as skaffold resolves them. */
async function diagnose(
  profile: string,
): Promise<SkaffoldConfig & { infrastructure: SkaffoldConfig }> {
  const text = await skaffold(['diagnose', '--yaml-only', '--profile', profile]);
  const configs = parseAllDocuments(text).map((d) => d.toJS() as SkaffoldConfig);
  const named = (name: string): SkaffoldConfig => {
    const found = configs.find((c) => c.metadata.name === name);
    assert.ok(found, `profile ${profile} has the ${name} config`);
    return found;
  };
  named('monitoring');
  return { ...named('emporium'), infrastructure: named('dev-infrastructure') };
}

/** The emporium module's objects as `skaffold render --offline` writes them for a profile. */
async function renderProfile(profile?: string): Promise<KubeObject[]> {
  const args = ['render', '--offline', '--module', 'emporium', '--digest-source', 'tag'];
  return parseObjects(await skaffold(profile ? [...args, '--profile', profile] : args));
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

  it('k8s/ is a config of its own that emporium requires, so it is deployed and Ready before the chart', async () => {
    // Within one config skaffold installs helm releases before it applies kubectl manifests and
    // checks each deployer before the next: the services would crash-loop without Kafka and
    // fail the check before k8s/ was ever applied (seen on the real node).
    for (const profile of SKAFFOLD_PROFILES) {
      // The order skaffold resolves (and deploys) the configs in; -m emporium brings its requires.
      const text = await skaffold(['diagnose', '--yaml-only', '-m', 'emporium', '-p', profile]);
      assert.deepEqual(
        parseAllDocuments(text).map((d) => (d.toJS() as SkaffoldConfig).metadata.name),
        ['dev-infrastructure', 'emporium'],
        profile,
      );
      const config = await diagnose(profile);
      assert.equal(config.manifests?.rawYaml, undefined, profile);
      assert.equal(config.manifests?.kustomize, undefined, profile);
      assert.equal(config.deploy?.kubectl, undefined, profile);
      if (profile !== 'eks') {
        assert.equal(config.infrastructure.deploy?.kubeContext, config.deploy?.kubeContext);
        assert.ok(config.infrastructure.deploy?.kubectl, `${profile} applies k8s/`);
      }
    }
  });

  it('every profile passes skaffold diagnose, building one image per service from services/Dockerfile', async () => {
    for (const profile of SKAFFOLD_PROFILES) {
      const config = await diagnose(profile);
      const artifacts = config.build?.artifacts ?? [];
      assert.deepEqual(artifacts.map((a) => a.image).sort(), [...IMAGES].sort(), profile);
      for (const a of artifacts) {
        // local builds the same Dockerfile with buildah (a custom builder); its inputs are the
        // Dockerfile's, so the tags change when the docker builder's would.
        const custom = a.custom?.dependencies?.dockerfile;
        assert.match(a.docker?.dockerfile ?? custom?.path ?? '', /services\/Dockerfile$/);
        const service = a.docker?.buildArgs?.SERVICE ?? custom?.buildArgs?.SERVICE ?? '';
        assert.equal(`emporium/${service}`, a.image);
        if (a.custom) {
          assert.equal(profile, 'local');
          assert.equal(
            a.custom.buildCommand,
            `node_modules/.bin/tsx scripts/src/skaffold-build.ts ${a.image.replace('emporium/', '')}`,
          );
        }
      }
    }
  });

  it('local builds with buildah, pushes nothing, and deploys to the real node of kube:up (context emporium) with k8s/ through the stand-ins overlay', async () => {
    const local = await diagnose('local');
    assert.equal(local.build?.local?.push, false);
    assert.equal(local.deploy?.kubeContext, 'emporium');
    assert.equal(local.infrastructure.deploy?.kubeContext, 'emporium');
    assert.equal(local.infrastructure.manifests?.rawYaml, undefined);
    assert.deepEqual(
      local.infrastructure.manifests?.kustomize?.paths?.map((p) => p.replace(/^.*\/k8s\//, 'k8s/')),
      ['k8s/local'],
    );
    const overlay = parseAllDocuments(
      await readFile(join(repoRoot(), 'k8s', 'local', 'kustomization.yaml'), 'utf8'),
    )[0]?.toJS() as {
      resources: string[];
      images: { name: string; newName: string; newTag: string }[];
    };
    const k8sFiles = (await readdir(join(repoRoot(), 'k8s'))).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(
      overlay.resources.map((r) => r.replace('../', '')).sort(),
      k8sFiles.sort(),
      'the overlay takes every manifest of k8s/',
    );
    const k8sText = (
      await Promise.all(k8sFiles.map((f) => readFile(join(repoRoot(), 'k8s', f), 'utf8')))
    ).join('\n');
    const named = INFRA_IMAGES.filter((i) => k8sText.includes(`image: ${i.upstream}`));
    assert.deepEqual(
      overlay.images.map((i) => `${i.name} -> ${i.newName}:${i.newTag}`).sort(),
      named.map((i) => `${i.upstream.replace(/:[^:/]+$/, '')} -> ${i.image}`).sort(),
      'the overlay swaps each upstream image of k8s/ for its stand-in in INFRA_IMAGES',
    );
    const envoy = INFRA_IMAGES.find((i) => i.name === 'envoy')?.image ?? '';
    const values = release(local).setValues ?? {};
    assert.equal(values['mesh.mode'], 'envoy');
    assert.equal(
      `${String(values['mesh.envoy.image.repository'])}:${String(values['mesh.envoy.image.tag'])}`,
      envoy,
    );
  });

  it('kind applies k8s/ and the chart with values-kind; eks pushes multi-arch images with values-eks and no dev infrastructure', async () => {
    const kind = await diagnose('kind');
    const k8sFiles = (await readdir(join(repoRoot(), 'k8s'))).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(
      (kind.infrastructure.manifests?.rawYaml ?? []).map((p) => p.replace(/^.*\/k8s\//, '')).sort(),
      k8sFiles.sort(),
      'every manifest in k8s/',
    );
    assert.match(release(kind).valuesFiles?.join() ?? '', /values-kind\.yaml/);
    assert.equal(kind.build?.local?.push, false);

    const eks = await diagnose('eks');
    assert.equal(eks.build?.local?.push, true);
    assert.deepEqual(eks.build.platforms, ['linux/amd64', 'linux/arm64']);
    assert.equal(eks.infrastructure.manifests?.rawYaml, undefined);
    assert.equal(eks.infrastructure.deploy?.kubectl, undefined, 'no dev infrastructure on EKS');
    assert.match(release(eks).valuesFiles?.join() ?? '', /values-eks\.yaml/);
  });

  it('skaffold render --offline: the kind profile renders k8s/ and the chart with the built images', async () => {
    const objects = await renderProfile();
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

  it('skaffold render --offline -p local: every image is a built one or a local stand-in', async () => {
    const objects = await renderProfile('local');
    const images = new Set(
      [...JSON.stringify(objects).matchAll(/"image":"([^"]+)"/g)].map((m) => m[1] ?? ''),
    );
    const stand = new Set(INFRA_IMAGES.map((i) => i.image));
    for (const image of images) {
      assert.ok(
        stand.has(image) || IMAGES.some((built) => image.startsWith(`${built}:`)),
        `${image} is neither built by skaffold nor a local stand-in`,
      );
    }
    assert.ok(images.has(INFRA_IMAGES.find((i) => i.name === 'kafka')?.image ?? ''));
    assert.ok(images.has(INFRA_IMAGES.find((i) => i.name === 'envoy')?.image ?? ''));
    for (const image of IMAGES) {
      assert.ok(
        [...images].some((i) => i.startsWith(`${image}:`)),
        `${image} deployed by its tag`,
      );
    }
  });

  for (const mode of ['appmesh', 'lattice'] as const) {
    it(`skaffold render --offline -p ${mode} renders the chart in ${mode} mode`, async () => {
      const objects = await renderProfile(mode);
      const kind = mode === 'appmesh' ? 'VirtualNode' : 'HTTPRoute';
      assert.ok(
        objects.filter((o) => o.kind === kind).length >= SERVICES.length,
        `a ${kind} per service`,
      );
    });
  }
});
