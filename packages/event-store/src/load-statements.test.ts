import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStatements } from './load-statements.js';

describe('loadStatements', () => {
  const root = mkdtempSync(join(tmpdir(), 'refract-sql-'));
  writeFileSync(join(root, 'package.json'), '{}');
  mkdirSync(join(root, 'sql'));
  writeFileSync(join(root, 'sql', 'one.sql'), 'SELECT 1');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const from = (path: string) => pathToFileURL(join(root, path)).href;

  it('finds sql/ at the package root from source, from a build, and from deeper folders', () => {
    for (const caller of ['src/sql.ts', 'dist/sql.js', 'dist/jobs/queue.js']) {
      expect(loadStatements(from(caller), { one: 'one.sql' })).toEqual({ one: 'SELECT 1' });
    }
  });

  it('fails at load when a file is missing', () => {
    expect(() => loadStatements(from('src/sql.ts'), { two: 'two.sql' })).toThrow(/two\.sql/);
  });
});
