import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '@emporium/harness';

const run = promisify(execFile);

/** The parts of a CycloneDX document read here. */
interface Bom {
  bomFormat: string;
  specVersion: string;
  components: { name: string; version: string; purl?: string }[];
}

/** The service whose image's deps stage is rebuilt here (the recipe is the same for all). */
const SERVICE = 'orders';

/** The package names of a CycloneDX document (`@scope/name`, from each purl). */
function packageNames(bom: Bom): Set<string> {
  return new Set(
    bom.components.map((c) =>
      decodeURIComponent(/^pkg:npm\/(.+?)@[^@?]+(\?.*)?$/.exec(c.purl ?? '')?.[1] ?? c.name),
    ),
  );
}

/** `"services/${SERVICE}"` → `services/orders`, split into arguments. */
function argsOf(command: string): string[] {
  return command
    .replaceAll('\\\n', ' ')
    .replaceAll('"', '')
    .replaceAll('${SERVICE}', SERVICE)
    .trim()
    .split(/\s+/);
}

describe('the images’ software bill of materials and patched dependencies', function () {
  this.timeout(300_000);

  it('services/Dockerfile’s deps stage writes a CycloneDX SBOM of the production packages, none of the build’s', async () => {
    const root = repoRoot();
    const dockerfile = await readFile(join(root, 'services', 'Dockerfile'), 'utf8');
    // The deps stage's two steps, taken from the Dockerfile itself so the test cannot drift.
    const install = /npm (ci --omit=dev [^\n\\]+)/.exec(dockerfile)?.[1];
    const sbom =
      /\/tools\/node_modules\/(@cyclonedx\/[^\s]+)((?:\s|\\\n)+(?:[^\n]*\\\n)*[^\n]*)/.exec(
        dockerfile,
      );
    assert.ok(install && sbom, 'services/Dockerfile installs with npm ci, then writes the SBOM');
    const [, tool = '', options = ''] = sbom;

    // What the build stage hands the deps stage: every workspace manifest and the lockfile.
    const dir = await tempDir('sbom');
    try {
      const { stdout: list } = await run(
        'git',
        ['ls-files', '*package.json', 'package-lock.json'],
        {
          cwd: root,
        },
      );
      for (const file of list.split('\n').filter(Boolean)) {
        await mkdir(join(dir, dirname(file)), { recursive: true });
        await cp(join(root, file), join(dir, file));
      }
      // From npm's cache: the packages were installed for this checkout already.
      await run('npm', [...argsOf(install), '--offline'], { cwd: dir, maxBuffer: 16 << 20 });
      // Then the patches of patches/, with patch-package mounted from the build stage.
      const patch = /\/tools\/node_modules\/(patch-package\/[^\s]+)([^\n]*)/.exec(dockerfile);
      assert.ok(patch, 'services/Dockerfile applies patches/ after npm ci');
      await cp(join(root, 'patches'), join(dir, 'patches'), { recursive: true });
      await run(
        process.execPath,
        [join(root, 'node_modules', patch[1] ?? ''), ...argsOf(patch[2] ?? '')],
        {
          cwd: dir,
        },
      );
      const queue = await readFile(
        join(dir, 'node_modules', 'kafkajs', 'src', 'network', 'requestQueue', 'index.js'),
        'utf8',
      );
      assert.match(queue, /Not throttled/, 'the image runs the patched kafkajs');
      // The tool from this checkout's node_modules, as the image mounts the build stage's.
      await run(process.execPath, [join(root, 'node_modules', tool), ...argsOf(options)], {
        cwd: dir,
        maxBuffer: 16 << 20,
      });
      const bom = JSON.parse(await readFile(join(dir, 'sbom.cdx.json'), 'utf8')) as Bom;
      assert.equal(bom.bomFormat, 'CycloneDX');
      const names = packageNames(bom);
      // What orders runs: its own dependencies and the platform's (Kafka, MongoDB, jose …).
      for (const pkg of ['express', 'kafkajs', 'mongodb', 'jose', 'zod', 'pino']) {
        assert.ok(names.has(pkg), `${pkg} runs in the image, so it is in its SBOM`);
      }
      // Test and build tools are not in the image, so not in its SBOM.
      for (const tool of ['mocha', 'typescript', 'eslint', 'supertest', 'tsx', 'c8']) {
        assert.ok(!names.has(tool), `${tool} is a build or test tool, not in the image`);
      }
      assert.ok(
        !bom.components.some((c) => c.name === 'harness'),
        'the test harness is not in the image',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
