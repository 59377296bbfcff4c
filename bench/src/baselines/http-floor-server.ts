/**
 * The HTTP floor of the append figures, as its own process (write-api is
 * one): the least a correct but naive append endpoint does. The same route
 * and body as write-api's `POST /streams/{id}/events`, the same body limit
 * and fastify JSON parser, and behind it one INSERT … RETURNING position per
 * request (one row, or one multi-row statement for a batch), autocommit, on
 * a pool as large as write-api's. No validation beyond JSON, no concurrency
 * check (the version is derived from `expectedVersion`), no idempotency.
 *
 * argv: databaseUrl partitions poolSize bodyLimitBytes. Prints `ready <port>`
 * once listening on a free loopback port.
 */
import { partitionOf } from '@refract/core';
import Fastify from 'fastify';
import pg from 'pg';
import { multiRowInsert } from './insert-rows.js';

const [databaseUrl, partitionsText, poolSizeText, bodyLimitText] = process.argv.slice(2);
const partitions = Number(partitionsText);
const poolSize = Number(poolSizeText);
const bodyLimit = Number(bodyLimitText);
if (!databaseUrl || !(partitions > 0) || !(poolSize > 0) || !(bodyLimit > 0)) {
  throw new Error(
    'usage: http-floor-server <databaseUrl> <partitions> <poolSize> <bodyLimitBytes>',
  );
}

const pool = new pg.Pool({
  connectionString: databaseUrl,
  max: poolSize,
  application_name: 'refract-bench-http-floor',
});

interface FloorBody {
  expectedVersion: number | 'no_stream';
  events: { id: string; type: string; data: unknown }[];
}

/** Statement text by row count, built once: the floor pays for no work of the harness's. */
const statements = new Map<number, string>();
function insertReturning(rows: number): string {
  let text = statements.get(rows);
  if (text === undefined) {
    text = `${multiRowInsert(rows)}\nRETURNING position`;
    statements.set(rows, text);
  }
  return text;
}

const app = Fastify({ bodyLimit, logger: false });
// As write-api: JSON only, through fastify's own parser (prototype poisoning refused).
const parseJson = app.getDefaultJsonParser('error', 'error');
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);

app.post<{ Params: { streamId: string }; Body: FloorBody }>(
  '/streams/:streamId/events',
  async (request, reply) => {
    const { streamId } = request.params;
    const { expectedVersion, events } = request.body;
    const first = expectedVersion === 'no_stream' ? 0 : expectedVersion + 1;
    const partition = partitionOf(streamId, partitions);
    const values: unknown[] = [];
    events.forEach((event, index) => {
      values.push(streamId, first + index, partition, event.id, event.type, 1, event.data, '{}');
    });
    const result = await pool.query<{ position: string }>({
      name: `floor-insert-${events.length}`,
      text: insertReturning(events.length),
      values,
    });
    reply.code(201);
    return { lastPosition: Number(result.rows.at(-1)!.position) };
  },
);

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`ready ${new URL(address).port}\n`);

const stop = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
