import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from '@emporium/harness';
import { output } from './buildah.js';

/** Where the CA bundle npm must trust is mounted in the build's RUN steps. */
export const BUILD_CA_FILE = '/run/emporium-npm/ca.crt';

/**
 * Keys of a user npmrc that say where packages come from and how to reach it (registries,
 * their credentials, proxies, TLS); others, such as a host path in `nodedir`, mean nothing in
 * the image and npm warns about some of them.
 */
const REGISTRY_KEY =
  /^\s*(registry|@[\w.-]+:registry|\/\/[^=]+|(https-)?proxy|noproxy|strict-ssl|replace-registry-host|omit-lockfile-registry-resolved)\s*=/;

/**
 * The npmrc the image build's `npm ci` reads as /root/.npmrc: the host user's registry lines,
 * then the registry the host's npm resolves, and the CA bundle it trusts (mounted at
 * BUILD_CA_FILE) when it names one. Nothing of it lands in the repository or in an image.
 */
export function buildNpmrc(userConfig: string, registry: string, hasCafile: boolean): string {
  const lines = userConfig.split('\n').filter((line) => REGISTRY_KEY.test(line));
  lines.push(`registry=${registry}`);
  if (hasCafile) lines.push(`cafile=${BUILD_CA_FILE}`);
  return lines.join('\n') + '\n';
}

/** One `npm config get` of the host's npm ('' when unset). */
async function npmConfig(key: string): Promise<string> {
  const value = (await output('npm', ['config', 'get', key])).trim();
  return value === 'null' || value === 'undefined' ? '' : value;
}

/**
 * Writes the build's npmrc into `dir` and returns the `buildah build`
 * volumes that lend it, the host's CA bundle and a persistent npm cache to every RUN step: the unchanged
 * Dockerfile's `npm ci` then reaches the registry the host reaches, and a second build
 * downloads nothing. Volumes are not committed into the images.
 */
export async function npmBuildVolumes(dir: string): Promise<string[]> {
  const userconfig = await npmConfig('userconfig');
  const user = userconfig ? await readFile(userconfig, 'utf8').catch(() => '') : '';
  const cafile = await npmConfig('cafile');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const npmrc = join(dir, 'npmrc');
  await writeFile(npmrc, buildNpmrc(user, await npmConfig('registry'), cafile !== ''), {
    mode: 0o600,
  });
  const npmCache = join(cacheRoot(), 'images', 'npm-cache');
  await mkdir(npmCache, { recursive: true });
  const volumes = ['--volume', `${npmrc}:/root/.npmrc:ro`, '--volume', `${npmCache}:/root/.npm`];
  if (cafile) volumes.push('--volume', `${cafile}:${BUILD_CA_FILE}:ro`);
  return volumes;
}

/**
 * Runs `build` with {@link npmBuildVolumes} in a private temporary folder, removed afterwards,
 * and also on SIGINT or SIGTERM: the npmrc may carry the registry's credentials, and must not
 * outlive the build even when it is interrupted (a `finally` never runs then).
 */
export async function withNpmBuildVolumes<T>(build: (volumes: string[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'emporium-images-npm-'));
  const interrupted = (signal: NodeJS.Signals): void => {
    rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await build(await npmBuildVolumes(dir));
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await rm(dir, { recursive: true, force: true });
  }
}
