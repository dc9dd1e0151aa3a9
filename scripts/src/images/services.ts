import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@emporium/harness';
import { qualifiedImageName } from './base.js';

/** The tag charts/emporium/values-kind.yaml gives every service image (`image.tag: dev`). */
export const SERVICE_IMAGE_TAG = 'dev';

/**
 * The services that have an image: every folder of services/ with a src/main.ts (platform and
 * contracts are libraries, built into the others' images).
 */
export function serviceNames(root: string = repoRoot()): string[] {
  const services = join(root, 'services');
  return readdirSync(services, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) => existsSync(join(services, name, 'src', 'main.ts')))
    .sort();
}

/**
 * A service's image name in buildah's storage: emporium/<service>:<tag> as values-kind.yaml
 * and skaffold.yaml name it, qualified the way Kubernetes reads `emporium/<service>`.
 */
export function serviceImage(service: string, tag: string = SERVICE_IMAGE_TAG): string {
  return qualifiedImageName(`emporium/${service}:${tag}`);
}

/** Options for {@link serviceBuildArgs}. */
export interface ServiceBuild {
  service: string;
  image: string;
  /** Build every step again (buildah's layer cache unused). */
  noCache?: boolean;
  /** `--volume` arguments lent to every RUN step (npm's configuration and cache). */
  volumes?: readonly string[];
}

/**
 * The `buildah build` arguments of one service image: services/Dockerfile with the repository
 * as context, as `docker build` takes it; layers cached, so services share their unchanged
 * stages; the host's network, because `npm ci` in RUN needs the registry and a root buildah
 * would otherwise want CNI plugins for a network of its own.
 */
export function serviceBuildArgs(build: ServiceBuild): string[] {
  return [
    'build',
    '--layers',
    '--network',
    'host',
    '--file',
    'services/Dockerfile',
    '--build-arg',
    `SERVICE=${build.service}`,
    ...(build.volumes ?? []),
    ...(build.noCache ? ['--no-cache'] : []),
    '--tag',
    build.image,
    '.',
  ];
}
