import { type Projection, type SqlExecutor, versionedTable } from '@refract/core';
import { z } from 'zod';

/**
 * What a rebuild may change on purpose: `{ any: true }` (a deliberate
 * reshape: any difference, rows added or removed included), or the columns
 * whose values may differ (`table.column`, or `column` in every table). Rows
 * present on one side only are covered by `any` alone. For a counter
 * projection the "columns" are counters (`projection.counter` or `counter`),
 * mixed case allowed, and a named counter may also appear or vanish.
 */
export const expectChangesSchema = z.union([
  z.strictObject({ any: z.literal(true) }),
  z.strictObject({
    columns: z.array(z.string().regex(/^([a-z][a-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/)),
  }),
]);
export type ExpectChanges = z.infer<typeof expectChangesSchema>;

export const NO_CHANGES_EXPECTED: ExpectChanges = { columns: [] };

/** The CLI's and the API's spelling: `any`, or a comma-separated column list. */
export function parseExpectChanges(spec: string): ExpectChanges {
  const trimmed = spec.trim();
  if (trimmed === 'any') return { any: true };
  const columns = trimmed
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  return expectChangesSchema.parse({ columns });
}

/** One key whose row differs between the live version and the new one. */
export interface KeyDifference {
  key: Record<string, unknown>;
  /** The live version's compared columns; null when the row is missing there. */
  live: Record<string, unknown> | null;
  /** The new version's compared columns; null when the row is missing there. */
  next: Record<string, unknown> | null;
}

export interface PartitionChecksum {
  /** A key partition: the hash of the key's text modulo the store's partition count. */
  partition: number;
  live: { rows: number; checksum: string };
  next: { rows: number; checksum: string };
}

export interface TableReport {
  table: string;
  key: string[];
  columns: string[];
  rows: { live: number; next: number };
  partitions: PartitionChecksum[];
  /** Columns of one version only (a reshape); they are not compared. */
  onlyLive: string[];
  onlyNext: string[];
  /** Keys whose compared columns differ, or that one version lacks. */
  differing: number;
  /** Of those, the ones the declared expected changes do not cover. */
  unexpected: number;
  /** The first keys that differ, in key order. */
  first: KeyDifference[];
}

export interface CutoverReport {
  liveVersion: number;
  version: number;
  comparedAt: string;
  expectChanges: ExpectChanges;
  /** identical: nothing differs; expected: every difference was declared; unexpected: the swap holds. */
  verdict: 'identical' | 'expected' | 'unexpected';
  tables: TableReport[];
}

/** Each table's key and compared columns, declared or read from the catalog. */
interface TablePlan {
  table: string;
  key: string[];
  columns: string[];
  onlyLive: string[];
  onlyNext: string[];
  liveColumns: string[];
  nextColumns: string[];
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const physical = (table: string, version: number) => {
  const [schema, name] = versionedTable(table, version).split('.');
  return `${ident(schema!)}.${ident(name!)}`;
};

async function catalogColumns(sql: SqlExecutor, table: string, version: number) {
  const rows = await sql.query<{ name: string; primary: boolean }>(
    `SELECT a.attname AS name,
            coalesce(a.attnum = ANY (i.indkey::int2[]), false) AS primary,
            array_position(i.indkey::int2[], a.attnum) AS key_order
     FROM pg_attribute a
     LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY key_order NULLS LAST, a.attnum`,
    [versionedTable(table, version)],
  );
  return {
    all: rows.rows.map((r) => r.name),
    primary: rows.rows.filter((r) => r.primary).map((r) => r.name),
  };
}

async function planTable(
  sql: SqlExecutor,
  projection: Projection,
  table: string,
  live: number,
  version: number,
): Promise<TablePlan> {
  // One after the other: both run on the swap's one connection.
  const was = await catalogColumns(sql, table, live);
  const next = await catalogColumns(sql, table, version);
  const declared = projection.compare?.[table];
  // No primary key and nothing declared: the whole row is the key, so a
  // changed row shows as one missing on each side.
  const key = declared ? [...declared.key] : next.primary.length ? next.primary : next.all;
  const wanted = declared?.columns ? [...declared.columns] : next.all;
  for (const column of [...key, ...wanted]) {
    if (!next.all.includes(column)) {
      throw new Error(`${projection.name}.compare: ${table} has no column ${column}`);
    }
  }
  const both = (c: string) => was.all.includes(c) && next.all.includes(c);
  return {
    table,
    key,
    columns: wanted.filter((c) => !key.includes(c) && both(c)),
    onlyLive: was.all.filter((c) => !next.all.includes(c)),
    onlyNext: next.all.filter((c) => !was.all.includes(c)),
    liveColumns: was.all,
    nextColumns: next.all,
  };
}

/**
 * Compares v+1 with the live v in SQL, set-based, on the connection given
 * (the swap's, where both stand at the same checkpoints): one statement per
 * table sums a hash of every row per key partition on both sides, and only
 * the partitions whose counts or sums differ are joined key by key, the
 * first `maxKeys` differences returned with both values. The cost is a scan
 * of each table, never a per-key round trip.
 */
export async function compareVersions(
  sql: SqlExecutor,
  options: {
    projection: Projection;
    live: number;
    version: number;
    partitions: number;
    expectChanges: ExpectChanges;
    maxKeys?: number;
  },
): Promise<CutoverReport> {
  const { projection, live, version, expectChanges } = options;
  const tables: TableReport[] = [];
  for (const table of projection.tables) {
    const plan = await planTable(sql, projection, table, live, version);
    tables.push(await compareTable(sql, plan, options));
  }
  const differs = tables.some(
    (t) => t.differing > 0 || t.onlyLive.length > 0 || t.onlyNext.length > 0,
  );
  const unexpected = tables.some(
    (t) =>
      t.unexpected > 0 ||
      (!('any' in expectChanges) &&
        [...t.onlyLive, ...t.onlyNext].some((c) => !expected(expectChanges, t.table).includes(c))),
  );
  return {
    liveVersion: live,
    version,
    comparedAt: new Date().toISOString(),
    expectChanges,
    verdict: unexpected ? 'unexpected' : differs ? 'expected' : 'identical',
    tables,
  };
}

/** The columns (or counters) the declaration lets differ in `table` (or counter projection). */
export function expected(expectChanges: ExpectChanges, table: string): string[] {
  if ('any' in expectChanges) return [];
  return expectChanges.columns.flatMap((c) => {
    const [owner, column] = c.includes('.') ? c.split('.') : [table, c];
    return owner === table ? [column!] : [];
  });
}

async function compareTable(
  sql: SqlExecutor,
  plan: TablePlan,
  options: {
    live: number;
    version: number;
    partitions: number;
    expectChanges: ExpectChanges;
    maxKeys?: number;
  },
): Promise<TableReport> {
  const keyText = `ROW(${plan.key.map(ident).join(', ')})::text`;
  const rowText = `ROW(${[...plan.key, ...plan.columns].map(ident).join(', ')})::text`;
  const partitionOf = `((hashtext(${keyText})::bigint & 2147483647) % ${options.partitions})`;
  const side = (version: number) => `
    SELECT ${partitionOf} AS p, count(*)::int AS rows,
           sum(('x' || left(md5(${rowText}), 15))::bit(60)::bigint)::text AS checksum
    FROM ${physical(plan.table, version)} GROUP BY 1`;
  const sums = await sql.query<{
    p: number;
    live_rows: number | null;
    live_sum: string | null;
    next_rows: number | null;
    next_sum: string | null;
  }>(
    `SELECT p, l.rows AS live_rows, l.checksum AS live_sum, n.rows AS next_rows, n.checksum AS next_sum
     FROM (${side(options.live)}) l FULL JOIN (${side(options.version)}) n USING (p) ORDER BY p`,
  );
  const partitions = sums.rows.map((r) => ({
    partition: r.p,
    live: { rows: r.live_rows ?? 0, checksum: r.live_sum ?? '0' },
    next: { rows: r.next_rows ?? 0, checksum: r.next_sum ?? '0' },
  }));
  const differing = partitions
    .filter((p) => p.live.rows !== p.next.rows || p.live.checksum !== p.next.checksum)
    .map((p) => p.partition);
  const report: TableReport = {
    table: plan.table,
    key: plan.key,
    columns: plan.columns,
    rows: {
      live: partitions.reduce((n, p) => n + p.live.rows, 0),
      next: partitions.reduce((n, p) => n + p.next.rows, 0),
    },
    partitions,
    onlyLive: plan.onlyLive,
    onlyNext: plan.onlyNext,
    differing: 0,
    unexpected: 0,
    first: [],
  };
  if (differing.length === 0) return report;

  // Only the differing partitions, key by key. Compared columns as jsonb, so
  // that the columns a declaration lets differ can be subtracted.
  const keyObject = `jsonb_build_object(${plan.key.map((c) => `'${c}', ${ident(c)}`).join(', ')})`;
  const keyed = (version: number, dropped: string) => `
    SELECT ${keyText} AS k, ${keyObject} AS key, to_jsonb(t) - ${dropped}::text[] AS r
    FROM ${physical(plan.table, version)} t WHERE ${partitionOf} = ANY ($1::int[])`;
  const notCompared = (all: string[]) => all.filter((c) => !plan.columns.includes(c));
  const any = 'any' in options.expectChanges;
  const rows = await sql.query<{
    key: Record<string, unknown>;
    live: Record<string, unknown> | null;
    next: Record<string, unknown> | null;
    differing: number;
    unexpected: number;
  }>(
    `WITH l AS (${keyed(options.live, '$2')}),
          n AS (${keyed(options.version, '$3')}),
          d AS (
            SELECT coalesce(l.k, n.k) AS k, coalesce(l.key, n.key) AS key, l.r AS live, n.r AS next
            FROM l FULL JOIN n ON l.k = n.k
            WHERE l.r IS DISTINCT FROM n.r)
     SELECT key, live, next, count(*) OVER ()::int AS differing,
            (count(*) FILTER (WHERE NOT $5 AND (live IS NULL OR next IS NULL
                                 OR live - $4::text[] IS DISTINCT FROM next - $4::text[])) OVER ())::int
              AS unexpected
     FROM d ORDER BY k LIMIT $6`,
    [
      differing,
      notCompared(plan.liveColumns),
      notCompared(plan.nextColumns),
      expected(options.expectChanges, plan.table),
      any,
      options.maxKeys ?? 20,
    ],
  );
  report.differing = rows.rows[0]?.differing ?? 0;
  report.unexpected = rows.rows[0]?.unexpected ?? 0;
  report.first = rows.rows.map((r) => ({ key: r.key, live: r.live, next: r.next }));
  return report;
}
