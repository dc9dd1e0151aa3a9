import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKubernetes, tempDir, type KubernetesCluster } from '@emporium/harness';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import { createMetrics } from '../telemetry/metrics.js';
import { checkTimings, startLeaderElection, type LeaderElection } from './leader-election.js';
import {
  holderIdentity,
  leaderElectionConfigShape,
  leaderElectionEnabled,
  leaderElectionTimingIssues,
  leaseNamespace,
  soleLeader,
  startLeadership,
} from './leadership.js';

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** The tests' short timings: lease 3 s, renew deadline 2 s, retry 0.5 s. */
const FAST = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 } as const;
const NAMESPACE = 'default';

describe('leader election settings', () => {
  const schema = z.object(leaderElectionConfigShape);
  const parse = (env: Record<string, string>) =>
    loadConfig(schema, { LEADER_ELECTION_LEASE_NAME: 'inventory-sweeper', ...env });

  it('is on in a pod or with a kubeconfig, off otherwise, unless set', () => {
    assert.equal(leaderElectionEnabled(parse({})), false);
    assert.equal(leaderElectionEnabled(parse({ KUBERNETES_SERVICE_HOST: '10.0.0.1' })), true);
    assert.equal(leaderElectionEnabled(parse({ KUBECONFIG: '/tmp/kubeconfig' })), true);
    const off = parse({ KUBERNETES_SERVICE_HOST: '10.0.0.1', LEADER_ELECTION_ENABLED: 'false' });
    assert.equal(leaderElectionEnabled(off), false);
  });

  it("has client-go's timings by default and names inconsistent ones", () => {
    const config = parse({});
    assert.equal(config.LEADER_ELECTION_LEASE_DURATION_MS, 15_000);
    assert.equal(config.LEADER_ELECTION_RENEW_DEADLINE_MS, 10_000);
    assert.equal(config.LEADER_ELECTION_RETRY_PERIOD_MS, 2_000);
    assert.deepEqual(leaderElectionTimingIssues(config), []);
    const bad = parse({
      LEADER_ELECTION_LEASE_DURATION_MS: '5000',
      LEADER_ELECTION_RENEW_DEADLINE_MS: '5000',
      LEADER_ELECTION_RETRY_PERIOD_MS: '4500',
    });
    assert.deepEqual(
      leaderElectionTimingIssues(bad).map((issue) => issue.path),
      ['LEADER_ELECTION_RENEW_DEADLINE_MS', 'LEADER_ELECTION_RETRY_PERIOD_MS'],
    );
    assert.throws(() => {
      checkTimings({ leaseDurationMs: 3000, renewDeadlineMs: 3000, retryPeriodMs: 500 });
    }, /lease duration must exceed/);
    assert.throws(() => {
      checkTimings({ leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 1900 });
    }, /renew deadline must exceed/);
    assert.throws(() => parse({ LEADER_ELECTION_LEASE_NAME: 'Not A Name' }));
  });

  it('finds the namespace and the identity', async () => {
    const dir = await tempDir('lease-ns');
    const file = join(dir, 'namespace');
    writeFileSync(file, 'shop\n');
    assert.equal(leaseNamespace({ LEADER_ELECTION_NAMESPACE: 'a', POD_NAMESPACE: 'b' }, file), 'a');
    assert.equal(leaseNamespace({ POD_NAMESPACE: 'b' }, file), 'b');
    assert.equal(leaseNamespace({}, file), 'shop');
    assert.equal(leaseNamespace({}, join(dir, 'missing')), 'default');
    assert.equal(holderIdentity({ POD_NAME: 'inventory-7d9f-abc' }), 'inventory-7d9f-abc');
    assert.equal(holderIdentity({}), `${hostname()}_${String(process.pid)}`);
  });

  it('without a cluster the single process leads until stopped', async () => {
    const metrics = createMetrics({ service: 'sole', runtimeMetrics: false });
    const events: string[] = [];
    const leadership = startLeadership(parse({}), {
      logger: silent,
      metrics,
      onStartedLeading: () => {
        events.push('started');
      },
      onStoppedLeading: () => {
        events.push('stopped');
      },
    });
    assert.equal(leadership.isLeader(), true);
    await sleep(10);
    assert.deepEqual(events, ['started']);
    assert.match(
      await metrics.text('leader_election_is_leader'),
      /leader_election_is_leader\{lease="inventory-sweeper",service="sole"\} 1/,
    );
    await leadership.stop();
    await leadership.stop();
    assert.equal(leadership.isLeader(), false);
    assert.deepEqual(events, ['started', 'stopped']);
    const other = soleLeader('x', {
      logger: silent,
      onStartedLeading: () => Promise.reject(new Error('boom')),
      onStoppedLeading: () => undefined,
    });
    await other.stop(); // a failing callback is logged, never thrown
  });
});

describe('leader election on a real control plane', () => {
  let cluster: KubernetesCluster | undefined;
  let kubeConfig: KubeConfig;
  const running: LeaderElection[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    // Leases need no nodes, and the control plane starts faster without them.
    cluster = await startKubernetes({ nodes: 0 });
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((election) => election.stop()));
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  after(async () => {
    await cluster?.stop();
  });

  const elect = (lease: string, identity: string): LeaderElection => {
    const election = startLeaderElection({
      lease,
      namespace: NAMESPACE,
      identity,
      kubeConfig,
      logger: silent,
      ...FAST,
    });
    running.push(election);
    return election;
  };
  const holderOf = async (lease: string): Promise<string | undefined> => {
    const api = kubeConfig.makeApiClient(CoordinationV1Api);
    const found = await api.readNamespacedLease({ name: lease, namespace: NAMESPACE });
    return found.spec?.holderIdentity;
  };
  /** Samples `electors` every 100 ms; fails on two leaders at once, returns the samples. */
  const watch = (electors: Record<string, () => boolean>) => {
    const samples: { at: number; leaders: string[] }[] = [];
    const timer = setInterval(() => {
      const leaders = Object.entries(electors)
        .filter(([, leading]) => leading())
        .map(([name]) => name);
      samples.push({ at: Date.now(), leaders });
    }, 100);
    return {
      samples,
      stop: () => {
        clearInterval(timer);
        const overlap = samples.find((sample) => sample.leaders.length > 1);
        assert.equal(overlap, undefined, `two leaders at once: ${JSON.stringify(overlap)}`);
      },
    };
  };
  const until = async (what: string, check: () => boolean, timeoutMs: number): Promise<number> => {
    const start = Date.now();
    while (!check()) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`${what}: not within ${String(timeoutMs)} ms`);
      await sleep(20);
    }
    return Date.now() - start;
  };

  it('of two electors on one Lease exactly one leads, and a graceful stop hands over at once', async () => {
    const lease = `test-${randomUUID().slice(0, 8)}`;
    const metrics = createMetrics({ service: 'elector', runtimeMetrics: false });
    const events: string[] = [];
    const a = startLeaderElection({
      lease,
      namespace: NAMESPACE,
      identity: 'a',
      kubeConfig,
      logger: silent,
      metrics,
      onStartedLeading: () => {
        events.push('a started');
      },
      onStoppedLeading: async () => {
        await sleep(50); // a leader's work winding down, before the release
        events.push('a stopped');
      },
      ...FAST,
    });
    running.push(a);
    const b = elect(lease, 'b');
    const sampler = watch({ a: () => a.isLeader(), b: () => b.isLeader() });
    await until('a leader', () => a.isLeader() || b.isLeader(), 10_000);
    await sleep(3 * FAST.leaseDurationMs); // several renewals: it stays exactly one
    const [leader, follower, leaderName] = a.isLeader() ? [a, b, 'a'] : [b, a, 'b'];
    assert.ok(leader.isLeader() && !follower.isLeader());
    assert.equal(await holderOf(lease), leaderName);
    const steady = sampler.samples.filter((s) => s.at > Date.now() - 2 * FAST.leaseDurationMs);
    const odd = steady.filter((s) => s.leaders.length !== 1 || s.leaders[0] !== leaderName);
    assert.deepEqual(odd, [], 'the leader must hold steadily through its renewals');
    if (leaderName === 'a') {
      assert.match(
        await metrics.text('leader_election_is_leader'),
        /lease="[^"]+",service="elector"\} 1/,
      );
    }

    const stopped = Date.now();
    await leader.stop();
    const handover = await until('the handover', () => follower.isLeader(), 5_000);
    sampler.stop();
    // Released, so the follower takes it at its next retry, not after the lease runs out.
    assert.ok(
      Date.now() - stopped <= 2 * FAST.retryPeriodMs * 1.2 + 500,
      `handover took ${String(handover)} ms after the release`,
    );
    assert.equal(await holderOf(lease), leaderName === 'a' ? 'b' : 'a');
    if (leaderName === 'a') assert.deepEqual(events, ['a started', 'a stopped']);
  });

  /** A TCP proxy to the API server that can be cut off: every byte then goes nowhere. */
  const startProxy = async (target: URL) => {
    const sockets: Socket[] = [];
    let cut = false;
    const server = createServer((client) => {
      sockets.push(client);
      if (cut) return; // accepted, never answered
      const upstream = connect(Number(target.port), target.hostname);
      sockets.push(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return {
      port,
      /** A network partition: open connections hang, new ones are never answered. */
      cut: () => {
        cut = true;
        for (const socket of sockets) {
          socket.unpipe();
          socket.pause();
        }
      },
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  };

  it('a leader cut off from the API server steps down before the others may take over', async () => {
    const lease = `test-${randomUUID().slice(0, 8)}`;
    const server = new URL(kubeConfig.getCurrentCluster()?.server ?? '');
    const proxy = await startProxy(server);
    const partitioned = new KubeConfig();
    partitioned.loadFromOptions({
      clusters: kubeConfig.clusters.map((c) => ({
        ...c,
        server: `https://127.0.0.1:${String(proxy.port)}`,
      })),
      users: kubeConfig.users,
      contexts: kubeConfig.contexts,
      currentContext: kubeConfig.currentContext,
    });
    let stoppedAt = 0;
    const a = startLeaderElection({
      lease,
      namespace: NAMESPACE,
      identity: 'a',
      kubeConfig: partitioned,
      logger: silent,
      onStoppedLeading: () => {
        stoppedAt = Date.now();
      },
      ...FAST,
    });
    running.push(a);
    try {
      await until('a leads', () => a.isLeader(), 10_000);
      const b = elect(lease, 'b');
      const sampler = watch({ a: () => a.isLeader(), b: () => b.isLeader() });
      await sleep(2 * FAST.retryPeriodMs);
      const cutAt = Date.now();
      proxy.cut();
      const stepDown = await until('a steps down', () => !a.isLeader(), 5_000);
      // At most the renew deadline after its last renewal, which was at most a retry period ago.
      assert.ok(
        stepDown <= FAST.renewDeadlineMs + 200,
        `stepped down after ${String(stepDown)} ms`,
      );
      await until('b leads', () => b.isLeader(), 3 * FAST.leaseDurationMs);
      const takeoverAt = Date.now();
      sampler.stop();
      assert.ok(stoppedAt > 0 && stoppedAt <= cutAt + stepDown + 100, 'onStoppedLeading ran');
      // a stops at its last renewal + the renew deadline, b takes over no earlier than that
      // renewal + the lease duration: the gap is the safety margin (1 s with these timings).
      const margin = takeoverAt - stoppedAt;
      assert.ok(
        margin >= FAST.leaseDurationMs - FAST.renewDeadlineMs - 300,
        `b led ${String(margin)} ms after a stopped`,
      );
      assert.equal(await holderOf(lease), 'b');
    } finally {
      await proxy.close();
    }
  });

  it('when the leader is killed (-9) the other takes over within the lease duration, never both', async () => {
    const lease = `test-${randomUUID().slice(0, 8)}`;
    const fixture = new URL('./fixtures/elector.ts', import.meta.url).pathname;
    const states = new Map<string, { leading: boolean; at: number }>();
    const intervals: { identity: string; from: number; to?: number }[] = [];
    /** Killed processes: lines still in their pipes must not bring them back to life. */
    const dead = new Set<string>();
    const spawnElector = (identity: string): ChildProcess => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
        env: {
          ...process.env,
          IDENTITY: identity,
          LEASE: lease,
          NAMESPACE,
          KUBECONFIG: cluster?.kubeconfig ?? '',
          LEASE_DURATION_MS: String(FAST.leaseDurationMs),
          RENEW_DEADLINE_MS: String(FAST.renewDeadlineMs),
          RETRY_PERIOD_MS: String(FAST.retryPeriodMs),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [kind, who, flag, at] = line.split(' ');
          if (kind !== 'state' || !who || dead.has(who)) continue;
          const leading = flag === '1';
          const previous = states.get(who);
          if (leading && !previous?.leading) intervals.push({ identity: who, from: Number(at) });
          if (!leading && previous?.leading) {
            const open = intervals.findLast((i) => i.identity === who && i.to === undefined);
            if (open) open.to = Number(at);
          }
          states.set(who, { leading, at: Number(at) });
        }
      });
      return child;
    };
    const leading = (identity: string) => (): boolean => states.get(identity)?.leading ?? false;
    const one = spawnElector('one');
    const two = spawnElector('two');
    const sampler = watch({ one: leading('one'), two: leading('two') });
    await until('a leader', () => leading('one')() || leading('two')(), 30_000);
    await sleep(2 * FAST.leaseDurationMs);
    const [victim, survivor, victimName, survivorName] = leading('one')()
      ? [one, two, 'one', 'two']
      : [two, one, 'two', 'one'];
    assert.equal(leading(survivorName)(), false);

    const killedAt = Date.now();
    victim.kill('SIGKILL');
    dead.add(victimName);
    await new Promise((resolve) => victim.once('close', resolve));
    // A dead process leads no more: its interval ends when it was killed.
    const open = intervals.findLast((i) => i.identity === victimName && i.to === undefined);
    if (open) open.to = killedAt;
    states.set(victimName, { leading: false, at: killedAt });
    const takeover = await until('the takeover', leading(survivorName), 3 * FAST.leaseDurationMs);
    sampler.stop();
    // The survivor waits a lease duration from when it last saw the record change, which is up
    // to a (jittered) retry period after the victim's last renewal; then it acts at its next retry.
    const bound = FAST.leaseDurationMs + 2 * FAST.retryPeriodMs * 1.2;
    assert.ok(takeover <= bound, `takeover took ${String(takeover)} ms (bound ${String(bound)})`);
    assert.equal(await holderOf(lease), survivorName);
    // Leadership intervals by the processes' own clocks never overlap.
    const sorted = [...intervals].sort((x, y) => x.from - y.from);
    for (let i = 1; i < sorted.length; i++) {
      const before = sorted[i - 1];
      const current = sorted[i];
      assert.ok(before && current && (before.to ?? Infinity) <= current.from, 'overlap');
    }

    survivor.kill('SIGTERM');
    await new Promise((resolve) => survivor.once('close', resolve));
    assert.equal((await holderOf(lease)) ?? '', ''); // released on SIGTERM
  });
});
