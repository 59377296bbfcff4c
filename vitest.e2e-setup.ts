import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

// The e2e project runs what a user installs: the built bins and the packed
// tarballs. `pnpm test` builds nothing itself, so this builds and packs once
// (`pnpm pack:all`, turbo-cached) before any e2e file starts; one build also
// keeps files from racing each other's turbo runs over the same dist/.
declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder holding every public package's tarball from `pnpm pack:all`. */
    packedDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'refract-packed-'));
  const result = spawnSync('pnpm', ['run', 'pack:all', '--pack-destination', dir], {
    cwd: import.meta.dirname,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pnpm run pack:all: exit ${result.status}\n${result.stdout}${result.stderr}`);
  }
  project.provide('packedDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
