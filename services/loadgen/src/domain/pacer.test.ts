import assert from 'node:assert/strict';
import { createPacer } from './pacer.js';

describe('pacer', () => {
  it('hands out exactly rps ticks per second on a fake clock, at evenly spaced times', () => {
    const pacer = createPacer({ rps: 20, concurrency: 1000, startMs: 5_000 });
    const times: number[] = [];
    assert.equal(pacer.due(4_999), 0, 'nothing before the start');
    // A clock that moves 1 ms at a time for 10 s, as a timer that wakes every millisecond.
    for (let now = 5_000; now < 15_000; now++) {
      const due = pacer.due(now);
      for (let i = 0; i < due; i++) {
        assert.ok(pacer.admit());
        pacer.release();
        times.push(now);
      }
    }
    assert.equal(times.length, 200);
    assert.deepEqual(times.slice(0, 4), [5_000, 5_050, 5_100, 5_150]);
    assert.equal(times.at(-1), 14_950);
    assert.equal(pacer.nextTickAt(), 15_000);
    assert.deepEqual(pacer.stats(), { ticks: 200, admitted: 200, dropped: 0, inFlight: 0 });
  });

  it('keeps a fractional rate without drift, and catches up when woken late', () => {
    const pacer = createPacer({ rps: 3, concurrency: 10, startMs: 0 });
    // Woken every 700 ms, later than the 333 ms spacing: the ticks missed meanwhile are due.
    let total = 0;
    for (let now = 0; now <= 60_200; now += 700) total += pacer.due(now);
    assert.equal(total, 181); // ticks at 0, 333.3…, …, 60 000 ms
    assert.equal(pacer.stats().dropped, 0);
    const half = createPacer({ rps: 0.5, concurrency: 1, startMs: 0 });
    assert.equal(half.due(0), 1);
    assert.equal(half.due(1_999), 0);
    assert.equal(half.due(2_000), 1);
    assert.equal(half.nextTickAt(), 4_000);
  });

  it('drops the ticks that arrive while concurrency requests are in flight, never queues them', () => {
    const pacer = createPacer({ rps: 10, concurrency: 2, startMs: 0 });
    const admitted: boolean[] = [];
    for (let now = 0; now < 500; now += 100) {
      for (let i = pacer.due(now); i > 0; i--) admitted.push(pacer.admit());
    }
    assert.deepEqual(admitted, [true, true, false, false, false]);
    assert.deepEqual(pacer.stats(), { ticks: 5, admitted: 2, dropped: 3, inFlight: 2 });
    pacer.release();
    assert.equal(pacer.due(500), 1);
    assert.equal(pacer.admit(), true, 'a freed slot takes the next tick');
    // Nothing queued: the three dropped ticks are gone, the next one is the only one due.
    assert.equal(pacer.due(550), 0);
    assert.deepEqual(pacer.stats(), { ticks: 6, admitted: 3, dropped: 3, inFlight: 2 });
  });

  it('counts a cancelled admission as dropped and frees its slot', () => {
    const pacer = createPacer({ rps: 1, concurrency: 1, startMs: 0 });
    assert.equal(pacer.due(0), 1);
    assert.equal(pacer.admit(), true);
    pacer.cancel();
    assert.deepEqual(pacer.stats(), { ticks: 1, admitted: 0, dropped: 1, inFlight: 0 });
  });

  it('after a long stall sends at most one second of ticks and counts the rest as dropped', () => {
    const pacer = createPacer({ rps: 50, concurrency: 1000, startMs: 0 });
    assert.equal(pacer.due(0), 1);
    assert.equal(pacer.due(10_000), 50);
    assert.deepEqual(pacer.stats(), { ticks: 501, admitted: 0, dropped: 450, inFlight: 0 });
  });

  it('refuses a rate of 0 and a concurrency below 1', () => {
    assert.throws(() => createPacer({ rps: 0, concurrency: 1, startMs: 0 }), RangeError);
    assert.throws(() => createPacer({ rps: 1, concurrency: 0, startMs: 0 }), RangeError);
  });
});
