import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { REPO_ROOT } from '@refract/testing';
import { describe, expect, it } from 'vitest';

/**
 * The services run the application module they are given and nothing else:
 * no service's code may import an example (by package name or by path), and
 * no service may depend on one at run time. Their tests may (devDependencies):
 * `*.test.ts` files and `fixtures/` directories are test code.
 */

const SERVICES = join(REPO_ROOT, 'services');
const EXAMPLES = join(REPO_ROOT, 'examples');
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const IMPORT =
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|\bimport\s+['"]([^'"]+)['"]|\brequire\s*\(\s*['"]([^'"]+)['"]/g;

/** Every module specifier a source text imports, re-exports or requires. */
export function specifiersOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3] ?? m[4]) as string);
}

/** An example, named as a package or reached by a path (relative to the importing file's directory). */
function isExample(specifier: string, fromDir: string): boolean {
  if (specifier.startsWith('@refract/example-')) return true;
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return false;
  const target = resolve(fromDir, specifier);
  return target === EXAMPLES || target.startsWith(EXAMPLES + sep);
}

function isTestCode(file: string): boolean {
  return /\.test\.[cm]?[jt]s$/.test(file) || file.split(sep).includes('fixtures');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return SOURCE.test(name) ? [path] : [];
  });
}

const services = readdirSync(SERVICES).filter((name) =>
  statSync(join(SERVICES, name)).isDirectory(),
);

describe('services import no example', () => {
  it('finds what an import would look like (the check below is only as good as this)', () => {
    const text = [
      "import { ordersApp } from '@refract/example-orders';",
      "export { x } from '../../../examples/orders/src/index.js';",
      "const m = await import('@refract/example-bank');",
      "import '@refract/example-orders/side-effect';",
      "import type { A } from '@refract/core';",
    ].join('\n');
    const found = specifiersOf(text).filter((s) => isExample(s, join(SERVICES, 'x', 'src')));
    expect(found).toEqual([
      '@refract/example-orders',
      '../../../examples/orders/src/index.js',
      '@refract/example-bank',
      '@refract/example-orders/side-effect',
    ]);
  });

  it('in any source file of a service that is not test code', () => {
    expect(services.length).toBeGreaterThanOrEqual(5);
    expect(services.flatMap(importOffences)).toEqual([]);
  });

  it('in the run-time dependencies of any service (examples are devDependencies at most)', () => {
    expect(services.flatMap(dependencyOffences)).toEqual([]);
  });
});

function importOffences(service: string): string[] {
  return sourceFiles(join(SERVICES, service, 'src'))
    .filter((file) => !isTestCode(file))
    .flatMap((file) =>
      specifiersOf(readFileSync(file, 'utf8'))
        .filter((specifier) => isExample(specifier, dirname(file)))
        .map((specifier) => `${relative(REPO_ROOT, file)} imports ${specifier}`),
    );
}

function dependencyOffences(service: string): string[] {
  const manifest = JSON.parse(
    readFileSync(join(SERVICES, service, 'package.json'), 'utf8'),
  ) as Record<string, Record<string, string> | undefined>;
  return ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((field) =>
    Object.entries(manifest[field] ?? {})
      .filter(
        ([name, version]) => name.startsWith('@refract/example-') || /examples\//.test(version),
      )
      .map(([name]) => `services/${service}/package.json ${field} lists ${name}`),
  );
}
