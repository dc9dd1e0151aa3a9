import { mkdir } from 'node:fs/promises';
import { ALL_TOOLS, KUBERNETES_TOOLS, ensureTool, portFree } from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import { fixedStackPorts, type StackPorts } from './stack/ports.js';
import {
  INFRASTRUCTURE,
  LOCAL_STACK_DATA,
  SERVICES_NEED,
  startStack,
  type InfrastructurePart,
} from './stack/stack.js';
import { SERVICES } from './stack/topology.js';

/** What `npm start` was asked to run. */
interface Selection {
  infrastructure: InfrastructurePart[];
  services: boolean;
  sidecars: boolean;
}

/**
 * Parses `--only kafka,redis` (a subset of the infrastructure), `--infra-only` and
 * `--no-sidecars` (the services called directly, without Envoy).
 */
function selection(argv: readonly string[]): Selection {
  const known = ['--only', '--infra-only', '--no-sidecars'];
  const unknown = argv.filter((arg) => arg.startsWith('-') && !known.includes(arg));
  if (unknown.length > 0)
    throw new CliError(`unknown option ${unknown.join(', ')}; try ${known.join(', ')}`);
  const sidecars = !argv.includes('--no-sidecars');
  const services = !argv.includes('--infra-only');
  const at = argv.indexOf('--only');
  if (at === -1) return { infrastructure: [...INFRASTRUCTURE], services, sidecars };
  const wanted = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const all: readonly string[] = INFRASTRUCTURE;
  const bad = wanted.filter((name) => !all.includes(name));
  if (wanted.length === 0 || bad.length > 0) {
    throw new CliError(`--only takes a comma-separated subset of ${INFRASTRUCTURE.join(', ')}`);
  }
  const infrastructure = INFRASTRUCTURE.filter((name) => wanted.includes(name));
  // A subset without what the services need is infrastructure only.
  return {
    infrastructure,
    services: services && SERVICES_NEED.every((name) => infrastructure.includes(name)),
    sidecars,
  };
}

/** Every fixed port the selection needs, with what needs it. */
function portsNeeded(ports: StackPorts, chosen: Selection): [string, number][] {
  const byPart: Record<InfrastructurePart, number[]> = {
    kafka: [ports.kafka],
    redis: [ports.redis],
    mongodb: [ports.mongodb],
    jaeger: [ports.jaegerUi, ports.jaegerQueryGrpc, ports.otlpGrpc, ports.otlpHttp],
    prometheus: [ports.prometheus],
  };
  const needed: [string, number][] = chosen.infrastructure.flatMap((part) =>
    byPart[part].map((port): [string, number] => [part, port]),
  );
  if (!chosen.services) return needed;
  for (const { name, upstreams } of SERVICES) {
    const own = ports.services[name];
    needed.push([name, own.service]);
    if (!chosen.sidecars) continue;
    needed.push([name, own.app], [`${name} envoy admin`, own.envoyAdmin]);
    upstreams.forEach((upstream, i) =>
      needed.push([`${name} envoy → ${upstream}`, own.egress + i]),
    );
  }
  return needed;
}

// `npm start`: the infrastructure, then every service (from its TypeScript sources), then an
// Envoy sidecar per service, on the fixed ports of stack/ports.ts; Ctrl-C or SIGTERM stops it
// all in reverse order.
runCli('start', async () => {
  const chosen = selection(process.argv.slice(2));
  const ports = fixedStackPorts();
  const busy: string[] = [];
  for (const [what, port] of portsNeeded(ports, chosen)) {
    if (!(await portFree(port)))
      busy.push(`${what} needs 127.0.0.1:${String(port)}, which is in use`);
  }
  if (busy.length > 0) throw new CliError(busy.join('\n  '));
  // The local stack runs no Kubernetes: a cold clone need not build it (that is kube:up's job).
  for (const tool of ALL_TOOLS.filter((t) => !KUBERNETES_TOOLS.includes(t))) {
    await ensureTool(tool, progress);
  }
  await mkdir(LOCAL_STACK_DATA, { recursive: true });

  const began = performance.now();
  const stack = await startStack({
    ports,
    dataDir: LOCAL_STACK_DATA,
    infrastructure: chosen.infrastructure,
    services: chosen.services,
    sidecars: chosen.sidecars,
    progress,
  });
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  const width = Math.max(...stack.parts.map((part) => part.name.length));
  process.stdout.write(
    `\nEmporium is ready in ${seconds} s${chosen.services ? '' : ' (infrastructure only)'}:\n`,
  );
  for (const part of stack.parts)
    process.stdout.write(`  ${part.name.padEnd(width)}  ${part.url}\n`);
  if (stack.gatewayUrl) {
    const gateway = stack.gatewayUrl;
    process.stdout.write(
      [
        '',
        "Try (a demo token from the gateway's dev issuer, then the store through the gateway):",
        `  TOKEN=$(curl -s -X POST -H 'content-type: application/json' -d '{"user":"alice"}' ${gateway}/dev/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
        `  curl -s '${gateway}/api/products?limit=2'`,
        `  curl -s -H "authorization: Bearer $TOKEN" ${gateway}/api/cart`,
        `  curl -s -X PUT -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"quantity":1}' ${gateway}/api/cart/lines/COF-ETH-YRG-250`,
        `  curl -s -X POST -H "authorization: Bearer $TOKEN" ${gateway}/api/orders`,
        '',
      ].join('\n'),
    );
  }
  process.stdout.write('\nCtrl-C stops everything.\n');

  await new Promise<void>((resolve) => {
    let stopping = false;
    // Ctrl-C reaches every process of the terminal's group, and tsx forwards it once more: keep
    // handling signals, or the second one would kill this process before it stopped the rest.
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n${signal}: stopping\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stack.stop();
});
