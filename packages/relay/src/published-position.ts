import type pg from 'pg';
import { SQL } from './sql.js';

/**
 * How far the relay `name` has published: every position up to it is in its
 * partition stream. 0 before the relay's first run. For readers that must
 * not go past what a tail will deliver (catch-up, rebuilds).
 */
export async function readPublishedPosition(
  db: pg.Pool | pg.ClientBase,
  name = 'main',
): Promise<number> {
  const result = await db.query<{ position: number | string }>(SQL.publishedPosition, [name]);
  return Number(result.rows[0]?.position ?? 0);
}
