import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Loads the named statements of a package from its `sql/` folder, which sits
 * at the package root beside `src/` and `dist/`: `from` is the caller's
 * `import.meta.url`, and the root is the nearest folder above it holding a
 * package.json, so the same call works from source (tsx, vitest), from a
 * build, and from any depth below either. Read once, at import time:
 * statements are constants.
 *
 * `export const SQL = loadStatements(import.meta.url, { readAll: 'read-all.sql' })`
 */
export function loadStatements<const T extends Record<string, string>>(
  from: string | URL,
  files: T,
): { readonly [K in keyof T]: string } {
  const dir = join(packageRoot(fileURLToPath(from)), 'sql');
  const statements: Record<string, string> = {};
  for (const [key, file] of Object.entries(files)) {
    statements[key] = readFileSync(join(dir, file), 'utf8');
  }
  return statements as { readonly [K in keyof T]: string };
}

function packageRoot(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${file}`);
    dir = parent;
  }
  return dir;
}
