import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file in the data directory that keeps the dev stack's admin token (`refract` reads it too). */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  token: string;
  /** `ADMIN_TOKEN` as given; else the file it was read from or written to. */
  source: { kind: 'env' } | { kind: 'file'; path: string; created: boolean };
}

/**
 * ADMIN_TOKEN when set; otherwise the token kept in `<dataDir>/admin-token`,
 * generated (192 random bits) the first time, so the dashboard's URL and the
 * CLI's token stay the same from one `pnpm start` to the next. The file is
 * readable by its owner only.
 */
export async function ensureAdminToken(
  dataDir: string,
  given: string | undefined,
): Promise<AdminToken> {
  if (given !== undefined) return { token: given, source: { kind: 'env' } };
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const kept = await readToken(path);
  if (kept !== undefined) return { token: kept, source: { kind: 'file', path, created: false } };
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  try {
    // 'wx': two stacks starting at once on one data directory agree on the first token.
    await writeFile(path, `${token}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readToken(path);
    if (winner !== undefined)
      return { token: winner, source: { kind: 'file', path, created: false } };
    // An empty file (a start that died between creating and writing it): replace it.
    await writeFile(path, `${token}\n`, { mode: 0o600 });
  }
  return { token, source: { kind: 'file', path, created: true } };
}

async function readToken(path: string): Promise<string | undefined> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    return token === '' ? undefined : token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
