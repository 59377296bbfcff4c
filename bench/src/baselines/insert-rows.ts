import pg from 'pg';
import { SQL } from '../sql.js';
import type { BenchEvent } from '../workload.js';

/** Parameters of one event row, in the order of `insert-event.sql`. */
export function rowParams(event: BenchEvent): unknown[] {
  return [
    event.streamId,
    event.version,
    event.partition,
    event.id,
    event.type,
    1,
    event.dataJson,
    '{}',
  ];
}

const PARAMS_PER_ROW = 8;

const statementText = SQL.insertEvent
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('--'))
  .join('\n');
const [columns, tuple] = statementText.split(/\bVALUES\b/) as [string, string];

/** `insert-event.sql` with its VALUES tuple repeated `rows` times, parameters renumbered. */
export function multiRowInsert(rows: number): string {
  const tuples = Array.from({ length: rows }, (_, row) =>
    tuple.trim().replace(/\$(\d+)/g, (_match, n: string) => `$${row * PARAMS_PER_ROW + Number(n)}`),
  );
  return `${columns}VALUES\n${tuples.join(',\n')}`;
}

/** A plain connection of the raw baselines: no pool, nothing between us and Postgres. */
export async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'refract-bench-raw',
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}
