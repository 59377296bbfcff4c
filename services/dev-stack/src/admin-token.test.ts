import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, ensureAdminToken } from './admin-token.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refract-admin-token-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureAdminToken', () => {
  it('generates a token once per data directory, owner-readable only, and keeps it', async () => {
    const dataDir = join(dir, 'data');
    const first = await ensureAdminToken(dataDir, undefined);
    const path = join(dataDir, ADMIN_TOKEN_FILE);
    expect(first.source).toEqual({ kind: 'file', path, created: true });
    expect(first.token).toMatch(/^[\w-]{32}$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const second = await ensureAdminToken(dataDir, undefined);
    expect(second).toEqual({ token: first.token, source: { kind: 'file', path, created: false } });
    expect((await ensureAdminToken(join(dir, 'other'), undefined)).token).not.toBe(first.token);
  });

  it('uses ADMIN_TOKEN when given and writes nothing', async () => {
    expect(await ensureAdminToken(dir, 'given')).toEqual({
      token: 'given',
      source: { kind: 'env' },
    });
    await expect(readFile(join(dir, ADMIN_TOKEN_FILE))).rejects.toThrow(/ENOENT/);
  });

  it('replaces an empty token file', async () => {
    await writeFile(join(dir, ADMIN_TOKEN_FILE), '\n');
    const { token, source } = await ensureAdminToken(dir, undefined);
    expect(source).toMatchObject({ created: true });
    expect(await readFile(join(dir, ADMIN_TOKEN_FILE), 'utf8')).toBe(`${token}\n`);
  });
});
