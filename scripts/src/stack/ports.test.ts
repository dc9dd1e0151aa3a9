import assert from 'node:assert/strict';
import { fixedStackPorts, freeStackPorts, type StackPorts } from './ports.js';
import { SERVICES } from './topology.js';

/** Every port a stack listens on, egress listeners included, with what listens there. */
function listening(ports: StackPorts): [string, number][] {
  const { services, ...infrastructure } = ports;
  return [
    ...Object.entries(infrastructure),
    ...SERVICES.flatMap(({ name, upstreams }): [string, number][] => {
      const own = services[name];
      return [
        [name, own.service],
        [`${name} app`, own.app],
        [`${name} envoy admin`, own.envoyAdmin],
        ...upstreams.map((upstream, i): [string, number] => [
          `${name} → ${upstream}`,
          own.egress + i,
        ]),
      ];
    }),
  ];
}

function duplicates(ports: StackPorts): string[] {
  const owners = new Map<number, string>();
  const clashes: string[] = [];
  for (const [what, port] of listening(ports)) {
    const owner = owners.get(port);
    if (owner) clashes.push(`${what} and ${owner} on ${String(port)}`);
    owners.set(port, what);
  }
  return clashes;
}

describe('the stack port table', () => {
  it('gives every listener of npm start its own fixed port', () => {
    assert.deepEqual(duplicates(fixedStackPorts()), []);
    assert.equal(fixedStackPorts().services.gateway.service, 18_000);
  });

  it('gives every listener of a test stack its own free port', async () => {
    assert.deepEqual(duplicates(await freeStackPorts()), []);
  });
});
