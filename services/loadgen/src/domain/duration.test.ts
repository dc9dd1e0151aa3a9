import assert from 'node:assert/strict';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads ms, s, m, h and combinations of them', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2m5s'), 125_000);
    assert.equal(parseDuration('1s500ms'), 1_500);
  });

  it('refuses bare numbers, unknown units, spaces, signs, fractions and zero', () => {
    for (const text of [
      '',
      '60',
      '1d',
      '5 m',
      ' 5m',
      '-5s',
      '1.5s',
      '0s',
      '0m0s',
      's',
      '5mm',
      'ms',
    ]) {
      assert.equal(parseDuration(text), undefined, text);
    }
  });
});
