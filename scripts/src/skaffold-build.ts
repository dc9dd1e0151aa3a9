import { join } from 'node:path';
import { cacheRoot, ensureTool, repoRoot } from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import {
  ensureBaseImage,
  qualifiedImageName,
  runLoggedLines,
  serviceBuildArgs,
  serviceNames,
  withNpmBuildVolumes,
} from './images/index.js';

const USAGE = `usage: IMAGE=<name:tag> tsx scripts/src/skaffold-build.ts <service>
  skaffold's custom builder (profile local of skaffold.yaml): builds one service's image from
  services/Dockerfile with buildah, as \`npm run images -- --service <service>\` does (the Node
  base first when its inputs changed), tagged $IMAGE, the name skaffold chose. As root.`;

// skaffold runs this once per artifact with $IMAGE set (and $PUSH_IMAGE false: nothing is
// pushed); the image it then deploys is tagged by its id through the Docker API of
// scripts/src/skaffold.ts, which also loads it into the real node.
runCli('skaffold-build', async () => {
  const service = process.argv[2];
  const image = process.env.IMAGE;
  if (service === undefined || !image) throw new CliError(USAGE);
  if (!serviceNames().includes(service)) {
    throw new CliError(`no service ${service}; the services are ${serviceNames().join(', ')}`);
  }
  if (process.env.PUSH_IMAGE === 'true') {
    throw new CliError('this builder does not push: the local profile keeps push: false');
  }
  if (process.getuid?.() !== 0) {
    throw new CliError('builds images with buildah as root: run skaffold as root');
  }
  const [{ bin: buildah }, { bin: mmdebstrap }] = await Promise.all([
    ensureTool('buildah', progress),
    ensureTool('mmdebstrap', progress),
  ]);
  const logs = join(cacheRoot(), 'logs');
  await ensureBaseImage({
    buildah,
    mmdebstrap,
    logFile: join(logs, 'images-base.log'),
    onProgress: (message) => {
      progress('base', message);
    },
  });
  const tag = qualifiedImageName(image);
  const logFile = join(logs, `skaffold-build-${service}.log`);
  progress(service, `building ${tag} (log: ${logFile})`);
  await withNpmBuildVolumes((volumes) =>
    runLoggedLines(buildah, serviceBuildArgs({ service, image: tag, volumes }), {
      logFile,
      cwd: repoRoot(),
      onLine: (line) => {
        // skaffold shows the builder's output: the build steps, not every npm line.
        if (/^(\[\d+\/\d+\] )?STEP \d+\/\d+: /.test(line)) process.stdout.write(`${line}\n`);
      },
    }),
  );
});
