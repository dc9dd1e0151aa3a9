import { join } from 'node:path';
import { repoRoot } from '@emporium/harness';

/** The application chart's folder, charts/emporium. */
export function chartDir(): string {
  return join(repoRoot(), 'charts', 'emporium');
}
