import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '@refract/testing';
import { beforeAll, describe, expect, inject, it } from 'vitest';

// What `pnpm pack:all` writes is what a user installs (the `refract` bin of
// this package runs every service, so it depends on all of them): each
// tarball must hold what its package runs and nothing that only the
// workspace has.

const PUBLIC = [
  '@refract/admin',
  '@refract/app-loader',
  '@refract/cli',
  '@refract/client',
  '@refract/contract',
  '@refract/core',
  '@refract/dev-stack',
  '@refract/event-store',
  '@refract/observability',
  '@refract/projector',
  '@refract/projector-worker',
  '@refract/query-api',
  '@refract/read-your-writes',
  '@refract/rebuild',
  '@refract/relay',
  '@refract/relay-service',
  '@refract/service-kit',
  '@refract/stream-bus',
  '@refract/testing',
  '@refract/write-api',
];

/** Folders read at run time beside dist (SQL, Lua, migrations, the dashboard): shipped whole. */
const RUNTIME_FOLDERS = ['sql', 'lua', 'migrations', 'dashboard'];

interface Packed {
  name: string;
  /** Paths inside the tarball, without the leading `package/`. */
  files: Set<string>;
  manifest: Record<string, unknown>;
  raw: string;
}

const packed = new Map<string, Packed>();

/** Every workspace package's manifest, by name, with its folder. */
const workspace = new Map(
  ['packages', 'services', 'examples']
    .flatMap((group) => readdirSync(join(REPO_ROOT, group)).map((dir) => join(group, dir)))
    .concat(['bench', 'faults'])
    .filter((dir) => existsSync(join(REPO_ROOT, dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as {
        name: string;
        private?: boolean;
      };
      return [pkg.name, { dir, private: pkg.private === true }] as const;
    }),
);

function run(command: string, args: string[], cwd = REPO_ROOT): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')}: exit ${result.status}\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

beforeAll(() => {
  // The root script as a user runs it (build, then pack), run once by the
  // e2e project's global setup into a temp folder.
  const dest = inject('packedDir');
  for (const tarball of readdirSync(dest).filter((f) => f.endsWith('.tgz'))) {
    const path = join(dest, tarball);
    const files = run('tar', ['-tzf', path])
      .split('\n')
      .filter((line) => line.length > 0 && !line.endsWith('/'))
      .map((line) => line.replace(/^package\//, ''));
    const raw = run('tar', ['-xzOf', path, 'package/package.json']);
    const manifest = JSON.parse(raw) as Packed['manifest'];
    packed.set(manifest.name as string, {
      name: manifest.name as string,
      files: new Set(files),
      manifest,
      raw,
    });
  }
});

/** Every file path an `exports` or `bin` entry names, through any nesting of conditions. */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(targets);
  return [];
}

function conditions(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => [key, ...conditions(inner)]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

describe('pnpm pack:all', () => {
  it('packs exactly the public packages, and no package outside them is public', () => {
    expect([...packed.keys()].sort()).toEqual(PUBLIC);
    const publicNames = [...workspace].filter(([, pkg]) => !pkg.private).map(([name]) => name);
    expect(publicNames.sort()).toEqual(PUBLIC);
  });

  it('the cli depends on every service and the dev stack; no service depends on the cli', () => {
    // The dev stack is optional, so a production install can leave it out (docs/deploy.md).
    const dependencies = (name: string) =>
      ['dependencies', 'optionalDependencies'].flatMap((field) =>
        Object.keys((packed.get(name)?.manifest[field] ?? {}) as Record<string, string>),
      );
    const services = [
      '@refract/admin',
      '@refract/dev-stack',
      '@refract/projector-worker',
      '@refract/query-api',
      '@refract/relay-service',
      '@refract/write-api',
    ];
    expect(dependencies('@refract/cli')).toEqual(expect.arrayContaining(services));
    for (const service of services) expect(dependencies(service)).not.toContain('@refract/cli');
    // What the bin imports to run them: each service's run function, from its package root.
    for (const service of services) expect(packed.get(service)?.files).toContain('dist/index.js');
  });

  it.each(PUBLIC)('%s holds what it runs and nothing else', (name) => {
    const pkg = packed.get(name);
    if (!pkg) throw new Error(`${name} was not packed`);
    const { files, manifest, raw } = pkg;

    for (const file of ['LICENSE', 'README.md', 'package.json']) expect(files).toContain(file);
    expect(manifest.license).toBe('MIT');
    expect(manifest.private).toBeUndefined();
    expect(manifest.engines).toEqual({ node: '>=20.19' });

    // Workspace-only: sources, tests, fixtures, source maps pointing at src/.
    const stray = [...files].filter(
      (file) =>
        file.startsWith('src/') ||
        /\.test\./.test(file) ||
        /(^|\/)(fixtures|testing)\//.test(file) ||
        file.endsWith('.map') ||
        file.endsWith('.tsbuildinfo'),
    );
    expect(stray).toEqual([]);

    // pnpm pack rewrites workspace:* to the version, and publishConfig drops
    // the source condition (its src/ is not shipped), so every export and bin
    // resolves to a shipped file. (The `dev` scripts still name src/; no
    // consumer runs them.)
    expect(raw).not.toContain('workspace:');
    const entries = targets(manifest.exports).concat(targets(manifest.bin));
    expect(entries.length).toBeGreaterThan(0);
    for (const target of entries) expect(files).toContain(target.replace(/^\.\//, ''));
    expect(conditions(manifest.exports)).not.toContain('@refract/source');
    if (manifest.exports && '.' in (manifest.exports as object)) {
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/index.d.ts');
    }

    const dir = join(REPO_ROOT, workspace.get(name)!.dir);
    for (const folder of RUNTIME_FOLDERS) {
      if (!existsSync(join(dir, folder))) continue;
      for (const file of filesUnder(join(dir, folder)))
        expect(files).toContain(`${folder}/${file}`);
    }
  });
});
