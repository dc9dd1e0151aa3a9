import assert from 'node:assert/strict';
import { helm } from '@emporium/harness';
import { CHART_DIR, KUBE_VERSION, PROFILES, renderChart, valuesArgs } from './chart.js';

describe('charts/emporium with Helm 3', function () {
  this.timeout(10 * 60_000); // a cold machine builds Helm 3 first

  it('helm lint --strict passes and every profile renders the same objects as with Helm 4', async () => {
    for (const profile of PROFILES) {
      await helm(
        [
          'lint',
          '--strict',
          CHART_DIR,
          '--kube-version',
          KUBE_VERSION,
          ...valuesArgs(profile.valuesFiles, profile.set),
        ],
        undefined,
        'helm3',
      );
      const [three, four] = await Promise.all([
        renderChart(profile.valuesFiles, profile.set, { helm3: true }),
        renderChart(profile.valuesFiles, profile.set),
      ]);
      assert.ok(three.length > 20, profile.name);
      assert.deepEqual(three, four, profile.name);
    }
  });

  it('Helm 3 refuses a bad value with the schema message too', async () => {
    await assert.rejects(
      renderChart(['ci/minimal-values.yaml'], { 'mesh.mode': 'istio' }, { helm3: true }),
      /mesh\.mode|mesh\/mode/,
    );
  });
});
