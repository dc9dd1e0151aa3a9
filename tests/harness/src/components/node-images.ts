import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureTool } from '../tools/provision.js';
import { runCommand, ToolError } from '../tools/run.js';
import { NODE_CONTAINERD_SOCKET } from './kube-node.js';

/** Options for {@link loadImagesIntoNode}. */
export interface NodeImageOptions {
  /** buildah's binary (default: the provisioned one). */
  buildah?: string;
  /** containerd's `ctr` (default: the provisioned one's). */
  ctr?: string;
  /** The node's containerd socket (default: the real node's). */
  socket?: string;
}

/** True when the real node's containerd is up (its socket exists), so images can be loaded. */
export function realNodeRunning(socket: string = NODE_CONTAINERD_SOCKET): boolean {
  return existsSync(socket);
}

/**
 * Imports images from buildah's store into the real node's containerd, as `kind load` does for
 * kind, from any process (skaffold's builder, a script), not only the one that started the
 * node; skips those already there by name and id, and returns the ones it imported.
 */
export async function loadImagesIntoNode(
  images: readonly string[],
  options: NodeImageOptions = {},
): Promise<string[]> {
  const socket = options.socket ?? NODE_CONTAINERD_SOCKET;
  if (!realNodeRunning(socket)) {
    throw new ToolError(
      'kube-node',
      `no real node's containerd at ${socket}: start one with \`npm run kube:up -- --node\``,
    );
  }
  const buildah = options.buildah ?? (await ensureTool('buildah')).bin;
  const ctrBin = options.ctr ?? (await ensureTool('containerd')).ctr;
  const ctr = async (args: readonly string[]): Promise<string> =>
    (await runCommand('ctr', ctrBin, ['--address', socket, '--namespace', 'k8s.io', ...args]))
      .stdout;
  const present = (await ctr(['images', 'list', '--quiet'])).split('\n');
  const loaded: string[] = [];
  // Beside the socket: on the node's tmpfs, removed with the node even if this process dies.
  const dir = await mkdtemp(join(dirname(socket), 'load-'));
  try {
    for (const image of images) {
      // CRI lists each image under its config digest too, which is buildah's image id.
      const listed = await runCommand('buildah', buildah, [
        'images',
        '--no-trunc',
        '--quiet',
        image,
      ]);
      const id = listed.stdout.trim().split('\n')[0] ?? '';
      if (id === '') throw new ToolError('kube-node', `no image ${image} in buildah's store`);
      const ref = id.startsWith('sha256:') ? id : `sha256:${id}`;
      if (present.includes(ref) && present.includes(image)) continue;
      const archive = join(dir, `image-${String(loaded.length)}.tar`);
      await runCommand('buildah', buildah, ['push', image, `oci-archive:${archive}:${image}`]);
      await ctr(['images', 'import', archive]);
      await rm(archive, { force: true });
      loaded.push(image);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return loaded;
}
