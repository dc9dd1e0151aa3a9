import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cacheRoot, ensureTool, repoRoot } from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import {
  checkInfraImage,
  checkServiceImage,
  ensureBaseImage,
  ensureInfraImage,
  ensureRuntimeImage,
  INFRA_NAMES,
  infraRecipe,
  infraSources,
  runLoggedLines,
  SERVICE_IMAGE_TAG,
  serviceBuildArgs,
  serviceImage,
  serviceNames,
  withNpmBuildVolumes,
  storedImage,
  type InfraName,
} from './images/index.js';

const USAGE = `usage: npm run images [-- --service <name>]... [--infra <name>]... [--no-services]
                      [--no-infra] [--no-cache] [--tag <tag>]
  Builds with buildah (no Docker engine), by default everything:
  - the local Node base image, then each service's image from services/Dockerfile, named
    emporium/<service>:<tag> (tag: ${SERVICE_IMAGE_TAG});
  - the shared Debian runtime, then the dev infrastructure images that stand in for the
    upstream images of k8s/ and the chart's Envoy sidecar, named localhost/emporium-dev/<tool>.
  --service <name>  only this service's image (repeat for more)
  --infra <name>    only this infrastructure image (repeat for more), one of
                    ${INFRA_NAMES.join(', ')}
                    (--service and --infra together build both selections)
  --no-services     no service image (and no Node base)
  --no-infra        no infrastructure image (and no runtime)
  --no-cache        every image and layer built again`;

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
        infra: { type: 'string', multiple: true },
        'no-services': { type: 'boolean', default: false },
        'no-infra': { type: 'boolean', default: false },
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

/** One row of the closing table: image, size, time, what its check showed. */
type Row = [string, string, string, string];

/** Prints one row as it is done (the closing table repeats them aligned). */
function printRow(rows: Row[], row: Row): void {
  rows.push(row);
  process.stdout.write(`${row.join('  ').trimEnd()}\n`);
}

/** The builds asked for: services and infrastructure images, each list possibly empty. */
function selection(values: ReturnType<typeof parseOptions>['values']): {
  services: string[];
  infra: InfraName[];
} {
  const known = serviceNames();
  // Naming any image builds only what is named; naming none builds everything.
  const named = values.service !== undefined || values.infra !== undefined;
  const services = values['no-services'] ? [] : (values.service ?? (named ? [] : known));
  const unknown = services.filter((service) => !known.includes(service));
  if (unknown.length > 0) {
    throw new CliError(`no service ${unknown.join(', ')}; the services are ${known.join(', ')}`);
  }
  const asked = values['no-infra'] ? [] : (values.infra ?? (named ? [] : [...INFRA_NAMES]));
  const unknownInfra = asked.filter((name) => !(INFRA_NAMES as readonly string[]).includes(name));
  if (unknownInfra.length > 0) {
    throw new CliError(
      `no infrastructure image ${unknownInfra.join(', ')}; they are ${INFRA_NAMES.join(', ')}`,
    );
  }
  // In build order, so an image built on another (otel-collector on jaeger) comes after it.
  const infra = INFRA_NAMES.filter((name) => asked.includes(name));
  return { services, infra };
}

/** The Node base, then each service image, each run once by its check. */
async function buildServices(
  buildah: string,
  services: readonly string[],
  options: { noCache: boolean; tag: string; logs: string; rows: Row[] },
): Promise<void> {
  const { bin: mmdebstrap } = await ensureTool('mmdebstrap', progress);
  const base = await ensureBaseImage({
    buildah,
    mmdebstrap,
    noCache: options.noCache,
    logFile: join(options.logs, 'images-base.log'),
    onProgress: (message) => {
      progress('base', message);
    },
  });
  printRow(options.rows, [
    base.image,
    base.size,
    `${String(base.seconds)} s${base.built ? '' : ' (kept)'}`,
    '',
  ]);

  await withNpmBuildVolumes(async (volumes) => {
    for (const service of services) {
      const image = serviceImage(service, options.tag);
      const logFile = join(options.logs, `images-${service}.log`);
      progress(service, `building ${image} (log: ${logFile})`);
      const started = performance.now();
      await runLoggedLines(
        buildah,
        serviceBuildArgs({ service, image, noCache: options.noCache, volumes }),
        {
          logFile,
          cwd: repoRoot(),
          onLine: (line) => {
            const step = stepLine(line);
            if (step) progress(service, step);
          },
        },
      );
      const seconds = Math.round((performance.now() - started) / 100) / 10;
      const size = (await storedImage(buildah, image))?.size ?? '?';
      const check = await checkServiceImage(buildah, image);
      if (check.uid === 0 || check.exitCode !== EX_CONFIG) {
        throw new CliError(
          `${image} ran as uid ${String(check.uid)} and exited ${String(check.exitCode)} ` +
            `without configuration (expected a non-root user and ${String(EX_CONFIG)}): ${check.complaint}`,
        );
      }
      printRow(options.rows, [
        image,
        size,
        `${String(seconds)} s`,
        `runs as uid ${String(check.uid)}`,
      ]);
    }
  });
}

/** The shared runtime, then each infrastructure image, each started once by its check. */
async function buildInfra(
  buildah: string,
  names: readonly InfraName[],
  options: { noCache: boolean; logs: string; rows: Row[] },
): Promise<void> {
  const { bin: mmdebstrap } = await ensureTool('mmdebstrap', progress);
  const sources = await infraSources(progress);
  const runtime = await ensureRuntimeImage({
    buildah,
    mmdebstrap,
    noCache: options.noCache,
    logFile: join(options.logs, 'images-runtime.log'),
    onProgress: (message) => {
      progress('runtime', message);
    },
  });
  printRow(options.rows, [
    runtime.image,
    runtime.size,
    `${String(runtime.seconds)} s${runtime.built ? '' : ' (kept)'}`,
    '',
  ]);
  const built = new Set<InfraName>();
  const build = async (name: InfraName): Promise<void> => {
    const recipe = infraRecipe(name, sources);
    // An image on another (otel-collector on jaeger) needs that one first, even if not asked.
    if (recipe.from !== 'runtime' && !built.has(recipe.from)) await build(recipe.from);
    if (built.has(name)) return;
    built.add(name);
    const result = await ensureInfraImage(recipe, {
      buildah,
      noCache: options.noCache,
      logFile: join(options.logs, `images-infra-${name}.log`),
      onProgress: (message) => {
        progress(name, message);
      },
    });
    progress(name, `checking ${result.image}`);
    const check = await checkInfraImage(buildah, name, recipe);
    if (check.uid === 0 || check.wrote.length > 0) {
      throw new CliError(
        `${result.image} ran as uid ${String(check.uid)} and wrote outside its volumes: ` +
          (check.wrote.join(', ') || 'nothing'),
      );
    }
    printRow(options.rows, [
      result.image,
      result.size,
      `${String(result.seconds)} s${result.built ? '' : ' (kept)'}`,
      `runs as uid ${String(check.uid)}, ready in ${String(check.readyMs)} ms, ` +
        `SIGTERM: exit ${String(check.stopped)}`,
    ]);
  };
  for (const name of names) await build(name);
}

// Builds the base images (when their inputs changed), then every image, one at a time: the
// builds are CPU-bound (npm ci, tsc) and the machines have two cores.
runCli('images', async () => {
  const { values } = parseOptions();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { services, infra } = selection(values);
  if (services.length === 0 && infra.length === 0) {
    throw new CliError(`nothing to build\n${USAGE}`);
  }
  if (process.getuid?.() !== 0) {
    // Rootless buildah needs subordinate id ranges and fuse-overlayfs set up for the user.
    throw new CliError('builds images with buildah as root: run it as root (or with sudo)');
  }
  const { bin: buildah } = await ensureTool('buildah', progress);
  const logs = join(cacheRoot(), 'logs');
  const noCache = values['no-cache'];
  const rows: Row[] = [];
  if (services.length > 0) {
    await buildServices(buildah, services, { noCache, tag: values.tag, logs, rows });
  }
  if (infra.length > 0) await buildInfra(buildah, infra, { noCache, logs, rows });
  const width = Math.max(...rows.map((row) => row[0].length));
  process.stdout.write(
    `\nimages:\n${rows.map(([image, size, time, check]) => `  ${image.padEnd(width)}  ${size.padStart(7)}  ${time.padEnd(10)}  ${check}`.trimEnd()).join('\n')}\n`,
  );
});
