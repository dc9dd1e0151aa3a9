import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot, repoRoot } from '@emporium/harness';
import { CliError } from '../cli.js';
import { imageLabel, output, runLoggedLines, storedImage } from './buildah.js';

/**
 * The npm the base image carries: the one bundled with the pinned Node (24.21.0 ships npm
 * 11.19.0, per its changelog), as in the official image the Dockerfile names. The `node`
 * package on the npm registry has the node binary alone, so npm comes as its own package.
 */
export const NPM_VERSION = '11.19.0';

/** The label that records the digest of the base image's inputs (see baseInputsDigest). */
export const BASE_INPUTS_LABEL = 'org.emporium.base.inputs';

/**
 * Bumped when the recipe changes in a way its arguments do not show, so an image built by the
 * old recipe is not taken for the new one.
 */
const RECIPE_VERSION = 1;

/** PATH of the official Node images. */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A reference as Docker and Kubernetes read it: a name without a registry is on docker.io, and
 * a one-part name there is under library/; buildah would put it under localhost/ instead, and
 * then the unchanged Dockerfile's `FROM node:…` would not find the local image.
 */
export function qualifiedImageName(ref: string): string {
  const [first, ...rest] = ref.split('/');
  if (rest.length > 0 && first && /[.:]|^localhost$/.test(first)) return ref;
  return rest.length === 0 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
}

/** What the base image stands in for, read from the Dockerfile's `ARG NODE_IMAGE=` default. */
export interface BaseTarget {
  /** The Dockerfile's reference, e.g. node:24-bookworm-slim. */
  ref: string;
  /** The same, qualified: the name the image gets in buildah's storage. */
  image: string;
  /** The Node major version its tag names, e.g. 24. */
  nodeMajor: number;
  /** The Debian suite its tag names, e.g. bookworm. */
  suite: string;
}

/** Reads the base image's reference from a Dockerfile's text and what its tag promises. */
export function baseTarget(dockerfile: string): BaseTarget {
  const ref = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  if (!ref) throw new CliError('services/Dockerfile has no `ARG NODE_IMAGE=<default>`');
  const tag = /^node:(\d+)-([a-z]+)-slim$/.exec(ref);
  if (!tag?.[1] || !tag[2]) {
    throw new CliError(`NODE_IMAGE ${ref}: expected node:<major>-<debian suite>-slim`);
  }
  return { ref, image: qualifiedImageName(ref), nodeMajor: Number(tag[1]), suite: tag[2] };
}

/**
 * mmdebstrap options that leave out manuals, docs (copyrights kept) and translations: what the
 * official slim images leave out, and most of what a container never reads.
 */
export const SLIM_DPKG_OPTIONS: readonly string[] = [
  ...['/usr/share/man/*', '/usr/share/doc/*', '/usr/share/info/*'].map(
    (path) => `--dpkgopt=path-exclude=${path}`,
  ),
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
];

/**
 * The mmdebstrap command that makes the base's root file system as a tarball: Debian's
 * minbase (what the official slim images start from) with CA certificates, without manuals,
 * docs (copyrights kept) and translations, then `stage` (node, npm) copied over /, and the
 * `node` user (uid and gid 1000) the official images have and the Dockerfile's `USER node` needs.
 * No mirror is given: mmdebstrap uses Debian's own and adds the suite's updates and security.
 */
export function mmdebstrapArgs(suite: string, stage: string, tarball: string): string[] {
  return [
    '--variant=minbase',
    '--include=ca-certificates',
    ...SLIM_DPKG_OPTIONS,
    `--customize-hook=sync-in ${stage} /`,
    '--customize-hook=chroot "$1" groupadd --gid 1000 node',
    '--customize-hook=chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
    '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
    suite,
    tarball,
  ];
}

/** The image configuration `buildah config` gives the base: the official images' env and CMD. */
export function baseConfigArgs(nodeVersion: string, inputs: string): string[] {
  return [
    '--env',
    `PATH=${IMAGE_PATH}`,
    '--env',
    `NODE_VERSION=${nodeVersion}`,
    '--cmd',
    'node',
    '--label',
    `${BASE_INPUTS_LABEL}=${inputs}`,
    '--label',
    'org.opencontainers.image.description=Node ' +
      `${nodeVersion} with npm ${NPM_VERSION} on Debian minbase, built locally by npm run images`,
  ];
}

/** The sha256 of a file's contents (hex). */
async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The digest of everything the base image is made from: the recipe (mmdebstrap's arguments,
 * the image config), the node binary's bytes and npm's version. Debian's packages are not in
 * it (they are whatever the suite serves when built); `--no-cache` rebuilds for those.
 */
export function baseInputsDigest(
  target: BaseTarget,
  nodeVersion: string,
  nodeSha256: string,
): string {
  const recipe = {
    recipe: RECIPE_VERSION,
    target: target.image,
    mmdebstrap: mmdebstrapArgs(target.suite, '<stage>', '<tarball>'),
    config: baseConfigArgs(nodeVersion, '<inputs>'),
    node: nodeSha256,
    npm: NPM_VERSION,
  };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
}

/** The pinned Node: the root devDependency `node`, whose package ships the binary. */
export async function pinnedNode(): Promise<{ binary: string; version: string }> {
  const dir = join(repoRoot(), 'node_modules', 'node');
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    version?: string;
  };
  const binary = join(dir, 'bin', 'node');
  if (!manifest.version || !existsSync(binary)) {
    throw new CliError(`no node binary in ${dir}: run npm ci (node is a root devDependency)`);
  }
  // The package's bin/node is a launcher on some platforms; the image needs the real binary.
  const reported = (await output(binary, ['--version'])).trim();
  if (reported !== `v${manifest.version}`) {
    throw new CliError(`${binary} reports ${reported}, its package says ${manifest.version}`);
  }
  return { binary, version: manifest.version };
}

/** Options for {@link ensureBaseImage}. */
export interface BaseImageOptions {
  buildah: string;
  mmdebstrap: string;
  /** Rebuild even when an image with the same inputs exists. */
  noCache?: boolean;
  /** Where the build's output goes. */
  logFile: string;
  onProgress?: (message: string) => void;
}

/** What {@link ensureBaseImage} did. */
export interface BaseImageResult {
  image: string;
  /** False when the stored image's inputs matched and nothing was built. */
  built: boolean;
  seconds: number;
  size: string;
}

/**
 * Makes sure buildah's storage holds the base image the Dockerfile names, built locally from
 * Debian's packages and the pinned Node (nothing can be pulled on these machines); an image
 * whose inputs label matches is kept as it is.
 */
export async function ensureBaseImage(options: BaseImageOptions): Promise<BaseImageResult> {
  const started = performance.now();
  const say = options.onProgress ?? (() => undefined);
  const target = baseTarget(await readFile(join(repoRoot(), 'services', 'Dockerfile'), 'utf8'));
  const node = await pinnedNode();
  if (Number(node.version.split('.')[0]) !== target.nodeMajor) {
    throw new CliError(
      `the pinned node ${node.version} is not the Node ${String(target.nodeMajor)} that ` +
        `${target.ref} names: pin the same major in package.json and services/Dockerfile`,
    );
  }
  const inputs = baseInputsDigest(target, node.version, await fileDigest(node.binary));
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  const existing = await storedImage(options.buildah, target.image);
  if (
    !options.noCache &&
    existing &&
    (await imageLabel(options.buildah, target.image, BASE_INPUTS_LABEL)) === inputs
  ) {
    return { image: target.image, built: false, seconds: seconds(), size: existing.size };
  }
  const work = join(cacheRoot(), 'images', 'base');
  await rm(work, { recursive: true, force: true });
  const stage = join(work, 'stage');
  const tarball = join(work, 'rootfs.tar');
  try {
    say(`staging node ${node.version} and npm ${NPM_VERSION}`);
    await stageNodeAndNpm(stage, node.binary, options.logFile);
    say(`mmdebstrap ${target.suite} (log: ${options.logFile})`);
    await runLoggedLines(options.mmdebstrap, mmdebstrapArgs(target.suite, stage, tarball), {
      logFile: options.logFile,
    });
    say(`committing ${target.image}`);
    const container = (await output(options.buildah, ['from', 'scratch'])).trim();
    try {
      await runLoggedLines(options.buildah, ['add', container, tarball, '/'], {
        logFile: options.logFile,
      });
      await runLoggedLines(
        options.buildah,
        ['config', ...baseConfigArgs(node.version, inputs), container],
        { logFile: options.logFile },
      );
      await runLoggedLines(options.buildah, ['commit', '--quiet', container, target.image], {
        logFile: options.logFile,
      });
    } finally {
      await output(options.buildah, ['rm', container]).catch(() => undefined);
    }
  } finally {
    // The tarball is the size of the image; buildah's storage keeps the image itself.
    await rm(work, { recursive: true, force: true });
  }
  const stored = await storedImage(options.buildah, target.image);
  return { image: target.image, built: true, seconds: seconds(), size: stored?.size ?? '?' };
}

/**
 * Lays out /usr/local as the official image has it: bin/node, npm in lib/node_modules/npm,
 * and the npm and npx links. npm's package is fetched (and cached) with the host's own npm
 * configuration, so whatever registry the host uses serves it.
 */
async function stageNodeAndNpm(stage: string, nodeBinary: string, logFile: string): Promise<void> {
  const packs = join(cacheRoot(), 'images', 'packs');
  const npmPack = join(packs, `npm-${NPM_VERSION}.tgz`);
  if (!existsSync(npmPack)) {
    await mkdir(packs, { recursive: true });
    await runLoggedLines('npm', ['pack', `npm@${NPM_VERSION}`, '--pack-destination', packs], {
      logFile,
    });
  }
  const local = join(stage, 'usr', 'local');
  const npmDir = join(local, 'lib', 'node_modules', 'npm');
  await mkdir(join(local, 'bin'), { recursive: true });
  await mkdir(npmDir, { recursive: true });
  await copyFile(nodeBinary, join(local, 'bin', 'node'));
  await chmod(join(local, 'bin', 'node'), 0o755);
  await runLoggedLines(
    'tar',
    ['-xzf', npmPack, '-C', npmDir, '--strip-components=1', '--no-same-owner'],
    { logFile },
  );
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(local, 'bin', 'npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(local, 'bin', 'npx'));
}
