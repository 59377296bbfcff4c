import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Each refract.* table has one owning package, the only one whose statements
// write it (docs/architecture.md, "Who owns which table"). Others read it, or
// ask the owner through its exported functions.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Table (or view, or function that writes tables) → owning package. */
const OWNERS: Record<string, string> = {
  settings: '@refract/event-store',
  streams: '@refract/event-store',
  events: '@refract/event-store',
  snapshots: '@refract/event-store',
  migrations: '@refract/event-store',
  append_batch: '@refract/event-store',
  append_one: '@refract/event-store',
  append_keyed: '@refract/event-store',
  idempotency_keys: '@refract/event-store',
  relay_checkpoints: '@refract/relay',
  projections: '@refract/projector',
  projection_checkpoints: '@refract/projector',
  parked_events: '@refract/projector',
  // The trigger function keeping projection_checkpoints.parked_open (the breaker's count).
  count_parked_open: '@refract/projector',
  // The completeness audit's latest result per partition (audit.ts).
  projection_audits: '@refract/projector',
  effect_ledger: '@refract/projector',
  // A view over parked_events (its rows and the positions held in them): defined with the table.
  parked_events_all: '@refract/projector',
  rebuilds: '@refract/rebuild',
};

/** Functions that write tables: calling one is a write. */
const WRITING_FUNCTIONS = ['append_batch', 'append_one', 'append_keyed'];

const REFRACT_NAME = /refract\.(\w+)/gi;
/** Statements that write; the group is where the written tables are named. */
const WRITES = [
  /\bINSERT\s+INTO\s+(refract\.\w+)/gi,
  /\bUPDATE\s+(?:ONLY\s+)?(refract\.\w+)/gi,
  /\bDELETE\s+FROM\s+(?:ONLY\s+)?(refract\.\w+)/gi,
  /\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(refract\.\w+)/gi,
  /\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?(refract\.\w+(?:\s*,\s*(?:ONLY\s+)?refract\.\w+)*)/gi,
  /\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(refract\.\w+(?:\s*,\s*refract\.\w+)*)/gi,
  /\bCOPY\s+(refract\.\w+)/gi,
];

/** The refract tables a piece of SQL (or of a file holding SQL) writes. */
function writtenTables(text: string): string[] {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*(?:\/\/|--).*$/gm, '')
    .replace(/--[^'`\n]*$/gm, '');
  const tables = new Set<string>();
  for (const pattern of WRITES) {
    for (const match of code.matchAll(pattern)) {
      for (const name of match[1]!.matchAll(REFRACT_NAME)) tables.add(name[1]!.toLowerCase());
    }
  }
  for (const fn of WRITING_FUNCTIONS) {
    if (new RegExp(`refract\\.${fn}\\s*\\(`, 'i').test(code)) tables.add(fn);
  }
  return [...tables].sort();
}

/** Shipped source and statements: tests and their support are left out. */
function isScanned(path: string): boolean {
  if (!/\.(ts|sql)$/.test(path)) return false;
  if (/\.test\.ts$/.test(path)) return false;
  return !/\/(node_modules|dist|fixtures|testing)\//.test(path);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

interface Workspace {
  name: string;
  dir: string;
}

function workspaces(): Workspace[] {
  return ['packages', 'services'].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((entry) => {
      const dir = join(ROOT, group, entry);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: manifest.name as string, dir };
    }),
  );
}

describe('writtenTables', () => {
  it('finds every kind of write, and only writes', () => {
    expect(writtenTables('INSERT INTO refract.events (a) VALUES (1)')).toEqual(['events']);
    expect(writtenTables('update refract.projections AS p SET x = 1')).toEqual(['projections']);
    expect(writtenTables('`DELETE FROM refract.rebuilds WHERE job_id = $1`')).toEqual(['rebuilds']);
    expect(writtenTables('TRUNCATE refract.events, refract.streams')).toEqual([
      'events',
      'streams',
    ]);
    expect(writtenTables('DROP TABLE IF EXISTS refract.snapshots')).toEqual(['snapshots']);
    expect(writtenTables('ALTER TABLE refract.settings ADD COLUMN x int')).toEqual(['settings']);
    expect(writtenTables('SELECT * FROM refract.append_one($1)')).toEqual(['append_one']);
    expect(
      writtenTables(
        'SELECT 1 FROM refract.projections FOR UPDATE; INSERT INTO x SELECT * FROM refract.events ' +
          'ON CONFLICT (k) DO UPDATE SET v = 1',
      ),
    ).toEqual([]);
    expect(writtenTables('-- UPDATE refract.events is what it does not do\nSELECT 1')).toEqual([]);
  });
});

describe('schema ownership', () => {
  it('gives every table of the migrations one owner', () => {
    const migrations = join(ROOT, 'packages/event-store/migrations');
    const created = new Set(['migrations']); // node-pg-migrate's own
    for (const file of readdirSync(migrations)) {
      const sql = readFileSync(join(migrations, file), 'utf8');
      for (const m of sql.matchAll(
        /CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW|FUNCTION)\s+refract\.(\w+)/gi,
      )) {
        created.add(m[1]!);
      }
    }
    expect([...created].sort()).toEqual(Object.keys(OWNERS).sort());
  });

  it('lets no package write a table it does not own', () => {
    const violations: string[] = [];
    for (const workspace of workspaces()) {
      for (const file of filesUnder(workspace.dir).filter(isScanned)) {
        // The schema is installed by the event-store's migrations, for every owner.
        if (file.startsWith(join(ROOT, 'packages/event-store/migrations'))) continue;
        for (const table of writtenTables(readFileSync(file, 'utf8'))) {
          const owner = OWNERS[table];
          if (owner !== workspace.name) {
            violations.push(
              `${relative(ROOT, file)}: ${workspace.name} writes refract.${table}, owned by ${owner ?? 'nobody'}`,
            );
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('matches the table in docs/architecture.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const section = doc.split('## Who owns which table')[1]?.split('\n## ')[0] ?? '';
    const documented: Record<string, string> = {};
    for (const m of section.matchAll(
      /^\|\s*`refract\.(\w+)(?:\(\))?`\s*\|\s*`(@refract\/[\w-]+)`/gm,
    )) {
      documented[m[1]!] = m[2]!;
    }
    expect(documented).toEqual(OWNERS);
  });
});
