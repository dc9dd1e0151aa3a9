import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { simulatedDecision } from '../domain/payment.js';
import { simulatedPspGateway } from './psp.gateway.js';

describe('simulated PSP gateway', () => {
  const request = { orderId: 'o-psp-1', userId: 'u-1', amountMinor: 100, currency: 'EUR' };

  it('answers after its latency with the deterministic decision', async () => {
    const psp = simulatedPspGateway({ latencyMs: 40, declineRate: 0.5 });
    const started = performance.now();
    const decision = await psp.authorize(request, 'k-1');
    assert.ok(performance.now() - started >= 35);
    assert.deepEqual(decision, simulatedDecision(request.orderId, 0.5));
    assert.deepEqual(await psp.authorize(request, 'k-1'), decision);
  });

  it('declines everything at rate 1 and nothing at rate 0', async () => {
    const all = simulatedPspGateway({ latencyMs: 0, declineRate: 1 });
    const none = simulatedPspGateway({ latencyMs: 0, declineRate: 0 });
    assert.equal((await all.authorize(request, 'k-2')).approved, false);
    assert.equal((await none.authorize(request, 'k-3')).approved, true);
  });

  it('answers a key it has seen with its first answer, whatever is asked (no second charge)', async () => {
    const psp = simulatedPspGateway({ latencyMs: 0, declineRate: 0.5 });
    const declinedOrder = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
      .map((x) => `o-psp-${x}`)
      .find((id) => !simulatedDecision(id, 0.5).approved);
    const approvedOrder = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
      .map((x) => `o-psp-${x}`)
      .find((id) => simulatedDecision(id, 0.5).approved);
    assert.ok(declinedOrder && approvedOrder);
    const first = await psp.authorize({ ...request, orderId: approvedOrder }, 'k-same');
    const again = await psp.authorize({ ...request, orderId: declinedOrder }, 'k-same');
    assert.equal(first.approved, true);
    assert.deepEqual(again, first);
  });
});
