import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import { output, qualifiedImageName, type StoredImage } from '../images/index.js';

/**
 * The few Docker Engine API calls skaffold's local builder makes for a custom artifact that is
 * not pushed, answered from buildah's store: with `push: false` skaffold asks the Docker daemon
 * for the image id of what the build script tagged (`GET /images/<ref>/json`) and then tags it
 * `<repository>:<id>` (`POST /images/<id>/tag`), which is the name it deploys. There is no Docker
 * engine here; buildah's store is the one that holds the images.
 */

/** The API version announced; skaffold's Docker client negotiates down to it. */
export const DOCKER_API_VERSION = '1.41';

/** Options for {@link startDockerApi}. */
export interface DockerApiOptions {
  buildah: string;
  /** Called with the fully qualified name after each tag (e.g. to load it into a node). */
  onTagged?: (image: string) => Promise<void>;
  /** Called with one line per request served, for the user to see what skaffold asked. */
  log?: (line: string) => void;
}

/** A running API on a Unix socket. */
export interface DockerApi {
  /** The `DOCKER_HOST` value that reaches it. */
  readonly host: string;
  close(): Promise<void>;
}

/** An image id (`sha256:<hex>` or 64 hex digits) is looked up as is; a name is qualified. */
function imageRef(ref: string): string {
  return /^(sha256:)?[0-9a-f]{12,64}$/.test(ref)
    ? ref.replace(/^sha256:/, '')
    : qualifiedImageName(ref);
}

/** The image stored under `ref`, with its full id (skaffold tags `<repository>:<id>` by it). */
async function storedImage(buildah: string, ref: string): Promise<StoredImage | undefined> {
  const listed = await output(buildah, ['images', '--json', '--no-trunc', ref]).catch(
    () => undefined,
  );
  const images = listed === undefined ? null : (JSON.parse(listed) as StoredImage[] | null);
  return images?.[0];
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'api-version': DOCKER_API_VERSION,
    ostype: 'linux',
  });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse, options: DockerApiOptions) {
  const url = new URL(req.url ?? '/', 'http://docker');
  // The client prefixes every path but /_ping with its negotiated version, /v1.41/….
  const path = decodeURIComponent(url.pathname).replace(/^\/v\d+\.\d+/, '');
  if (path === '/_ping') {
    res.writeHead(200, { 'api-version': DOCKER_API_VERSION, ostype: 'linux' });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
    return;
  }
  if (path === '/version') {
    send(res, 200, { ApiVersion: DOCKER_API_VERSION, MinAPIVersion: '1.24', Os: 'linux' });
    return;
  }
  const inspect = /^\/images\/(.+)\/json$/.exec(path);
  if (req.method === 'GET' && inspect?.[1]) {
    const image = await storedImage(options.buildah, imageRef(inspect[1]));
    if (!image) {
      send(res, 404, { message: `No such image: ${inspect[1]}` });
      return;
    }
    send(res, 200, {
      Id: image.id.startsWith('sha256:') ? image.id : `sha256:${image.id}`,
      RepoTags: image.names,
      Os: 'linux',
    });
    return;
  }
  const tag = /^\/images\/(.+)\/tag$/.exec(path);
  if (req.method === 'POST' && tag?.[1]) {
    const repo = url.searchParams.get('repo') ?? '';
    const name = qualifiedImageName(`${repo}:${url.searchParams.get('tag') ?? 'latest'}`);
    await output(options.buildah, ['tag', imageRef(tag[1]), name]);
    await options.onTagged?.(name);
    send(res, 201);
    return;
  }
  send(res, 501, {
    message: `not served here (buildah's store only): ${req.method ?? ''} ${path}`,
  });
}

/** Serves the API on a Unix socket at `socket` until closed. */
export async function startDockerApi(
  socket: string,
  options: DockerApiOptions,
): Promise<DockerApi> {
  await rm(socket, { force: true });
  const server: Server = createServer((req, res) => {
    options.log?.(`${req.method ?? ''} ${req.url ?? ''}`);
    handle(req, res, options).catch((err: unknown) => {
      options.log?.(`  failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) send(res, 500, { message: String(err) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  return {
    host: `unix://${socket}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
