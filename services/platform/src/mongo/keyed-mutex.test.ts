import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyedMutex } from './keyed-mutex.js';

describe('keyed mutex', () => {
  it('runs tasks of one key one at a time, in order, and other keys alongside', async () => {
    const mutex = createKeyedMutex();
    const log: string[] = [];
    const task = (key: string, id: number, ms: number) =>
      mutex.run(key, async () => {
        log.push(`start ${key}${String(id)}`);
        await sleep(ms);
        log.push(`end ${key}${String(id)}`);
        return id;
      });
    const results = await Promise.all([task('a', 1, 20), task('a', 2, 1), task('b', 3, 1)]);
    assert.deepEqual(results, [1, 2, 3]);
    assert.deepEqual(log.slice(0, 4), ['start a1', 'start b3', 'end b3', 'end a1']);
    assert.deepEqual(log.slice(4), ['start a2', 'end a2']);
  });

  it('a failing task releases the key', async () => {
    const mutex = createKeyedMutex();
    await assert.rejects(
      mutex.run('a', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await mutex.run('a', () => Promise.resolve('next')), 'next');
  });
});
