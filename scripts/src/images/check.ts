import { CliError } from '../cli.js';
import { output } from './buildah.js';

/** The parts of an OCI image config the check reads. */
interface ImageConfig {
  User?: string;
  Entrypoint?: string[];
  WorkingDir?: string;
}

/** What running a service image showed. */
export interface ServiceImageCheck {
  uid: number;
  workingDir: string;
  /** The entrypoint's exit code with no configuration (78: EX_CONFIG). */
  exitCode: number;
  /** Its first line of complaint. */
  complaint: string;
}

/** Development packages that must not be in a service image (the build stage's tools). */
const DEV_PACKAGES = ['typescript', 'mocha', 'tsx', 'eslint', 'c8'];

/**
 * Runs a service image for real (buildah run, no network, no configuration): its own user must
 * not be root, its working folder must hold dist/ and no sources, no development package may be
 * installed, and its entrypoint must start Node and stop at the configuration check with a clear
 * message and exit code 78 rather than crash on a missing module.
 */
export async function checkServiceImage(
  buildah: string,
  image: string,
): Promise<ServiceImageCheck> {
  const inspected = JSON.parse(await output(buildah, ['inspect', '--type', 'image', image])) as {
    OCIv1?: { config?: ImageConfig };
  };
  const config = inspected.OCIv1?.config ?? {};
  const entrypoint = config.Entrypoint ?? [];
  if (entrypoint.length === 0) throw new CliError(`${image} has no entrypoint`);
  const container = (await output(buildah, ['from', '--quiet', image])).trim();
  try {
    const script = [
      'id -u',
      'test -f dist/main.js && test ! -e src || { echo "dist/main.js without src/ expected in $PWD"; exit 90; }',
      `for p in ${DEV_PACKAGES.join(' ')}; do test ! -e "/app/node_modules/$p" || { echo "dev package $p installed"; exit 91; }; done`,
      '"$@" 2>&1',
      'echo "exit=$?"',
    ].join('\n');
    // buildah run, like the kubelet, runs as the image's USER in its WorkingDir.
    const out = await output(buildah, [
      'run',
      '--network',
      'none',
      container,
      '--',
      'sh',
      '-c',
      script,
      'sh',
      ...entrypoint,
    ]).catch((err: unknown) => {
      throw new CliError(`${image} failed its check: ${err instanceof Error ? err.message : ''}`);
    });
    const lines = out.trim().split('\n');
    const uid = Number(lines[0]);
    const exitCode = Number(/^exit=(\d+)$/m.exec(out)?.[1] ?? NaN);
    const complaint = lines.slice(1).find((line) => line.trim() !== '') ?? '';
    return { uid, workingDir: config.WorkingDir ?? '', exitCode, complaint };
  } finally {
    await output(buildah, ['rm', container]).catch(() => undefined);
  }
}
