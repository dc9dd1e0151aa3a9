import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cacheRoot, ensureTool, repoRoot } from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import {
  checkServiceImage,
  ensureBaseImage,
  npmBuildVolumes,
  runLoggedLines,
  SERVICE_IMAGE_TAG,
  serviceBuildArgs,
  serviceImage,
  serviceNames,
  storedImage,
} from './images/index.js';

const USAGE = `usage: npm run images [-- --service <name>]... [--no-cache] [--tag <tag>]
  Builds the local Node base image, then each service's image from services/Dockerfile, with
  buildah (no Docker engine); images are named emporium/<service>:<tag> (tag: ${SERVICE_IMAGE_TAG}).`;

/** A service started without its configuration exits so (platform's EXIT_CONFIG, sysexits' EX_CONFIG). */
const EX_CONFIG = 78;

/** A buildah build step line (`[2/3] STEP 5/7: RUN npm ci …`), shortened for progress. */
function stepLine(line: string): string | undefined {
  if (!/^(\[\d+\/\d+\] )?STEP \d+\/\d+: /.test(line)) return undefined;
  return line.length > 110 ? `${line.slice(0, 107)}...` : line;
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        service: { type: 'string', multiple: true },
        'no-cache': { type: 'boolean', default: false },
        tag: { type: 'string', default: SERVICE_IMAGE_TAG },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    // An unknown or malformed option is the user's mistake, not a bug: say so with the usage.
    throw new CliError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
}

// Builds the base image (when its inputs changed), then every service image, one at a time:
// the build is CPU-bound (npm ci, tsc) and the machines have two cores.
runCli('images', async () => {
  const { values } = parseOptions();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const known = serviceNames();
  const services = values.service ?? known;
  const unknown = services.filter((service) => !known.includes(service));
  if (unknown.length > 0) {
    throw new CliError(`no service ${unknown.join(', ')}; the services are ${known.join(', ')}`);
  }
  if (process.getuid?.() !== 0) {
    // Rootless buildah needs subordinate id ranges and fuse-overlayfs set up for the user.
    throw new CliError('builds images with buildah as root: run it as root (or with sudo)');
  }
  const { bin: buildah } = await ensureTool('buildah', progress);
  const { bin: mmdebstrap } = await ensureTool('mmdebstrap', progress);
  const logs = join(cacheRoot(), 'logs');
  const noCache = values['no-cache'];

  const base = await ensureBaseImage({
    buildah,
    mmdebstrap,
    noCache,
    logFile: join(logs, 'images-base.log'),
    onProgress: (message) => {
      progress('base', message);
    },
  });
  const rows = [[base.image, base.size, `${String(base.seconds)} s${base.built ? '' : ' (kept)'}`]];
  process.stdout.write(`${rows[0]?.join('  ') ?? ''}\n`);

  const npmDir = await mkdtemp(join(tmpdir(), 'emporium-images-npm-'));
  // Interrupted, the finally below never runs; the npmrc must not outlive the build even so.
  const interrupted = (signal: NodeJS.Signals): void => {
    rmSync(npmDir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const volumes = await npmBuildVolumes(npmDir);
    for (const service of services) {
      const image = serviceImage(service, values.tag);
      const logFile = join(logs, `images-${service}.log`);
      progress(service, `building ${image} (log: ${logFile})`);
      const started = performance.now();
      await runLoggedLines(buildah, serviceBuildArgs({ service, image, noCache, volumes }), {
        logFile,
        cwd: repoRoot(),
        onLine: (line) => {
          const step = stepLine(line);
          if (step) progress(service, step);
        },
      });
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      const size = (await storedImage(buildah, image))?.size ?? '?';
      const check = await checkServiceImage(buildah, image);
      if (check.uid === 0 || check.exitCode !== EX_CONFIG) {
        throw new CliError(
          `${image} ran as uid ${String(check.uid)} and exited ${String(check.exitCode)} ` +
            `without configuration (expected a non-root user and ${String(EX_CONFIG)}): ${check.complaint}`,
        );
      }
      const row = [image, size, `${String(seconds)} s`, `runs as uid ${String(check.uid)}`];
      rows.push(row);
      process.stdout.write(`${row.join('  ')}\n`);
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    // The npmrc may carry the registry's credentials: it lives only as long as the builds.
    await rm(npmDir, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map((row) => row[0]?.length ?? 0));
  process.stdout.write(
    `\nimages:\n${rows.map(([image = '', size = '', time = '', check = '']) => `  ${image.padEnd(width)}  ${size.padStart(7)}  ${time.padEnd(8)}  ${check}`.trimEnd()).join('\n')}\n`,
  );
});
