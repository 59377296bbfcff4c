import { randomUUID } from 'node:crypto';
import { defineApp, defineEvent } from '@refract/core';
import { migrate } from '@refract/event-store';
import { createLogger, createMetrics } from '@refract/observability';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from './config.js';
import { startWriteApi, type WriteApiServer } from './server.js';

/** Version 2 added `currency`; events stored as version 1 read as euros. */
const deposited = defineEvent('Deposited', {
  version: 2,
  schema: z
    .object({
      accountId: z.string(),
      amountCents: z.number().int().positive(),
      currency: z.string(),
    })
    .strict(),
  upcasters: [{ fromVersion: 1, upcast: (data) => ({ ...data, currency: 'EUR' }) }],
});
const opened = defineEvent('AccountOpened', {
  schema: z.object({ accountId: z.string() }).strict(),
});
const app = defineApp({ name: 'event-checks', events: [deposited, opened] });

let db: TestDatabase;
let server: WriteApiServer;
let sql: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('write_api_checks');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const config = loadConfig({
    DATABASE_URL: db.url,
    RELAY_MODE: 'off',
    WRITE_API_PORT: '0',
    WRITE_API_HOST: '127.0.0.1',
  });
  server = await startWriteApi(
    config,
    app,
    createLogger({ service: 'write-api', level: 'silent' }),
    createMetrics({ defaultMetrics: false }),
  );
});

afterAll(async () => {
  await server?.close();
  await sql?.end();
  await db?.drop();
});

const stream = () => `account-${randomUUID()}`;

function append(streamId: string, events: unknown[]) {
  return server.app.inject({
    method: 'POST',
    url: `/streams/${streamId}/events`,
    payload: { events },
  });
}

async function stored(): Promise<{ events: number; streams: number }> {
  const { rows } = await sql.query<{ events: number; streams: number }>(
    `SELECT (SELECT count(*)::int FROM refract.events) AS events,
            (SELECT count(*)::int FROM refract.streams) AS streams`,
  );
  return rows[0]!;
}

const valid = { type: 'Deposited', data: { accountId: 'a', amountCents: 500, currency: 'USD' } };

describe('raw appends are checked against the application module', () => {
  it.each([
    [
      'an undeclared event type',
      [valid, { type: 'Withdrawn', data: { accountId: 'a' } }],
      'events.1.type',
    ],
    [
      'a payload its schema refuses',
      [{ type: 'Deposited', data: { accountId: 'a', amountCents: '5', currency: 'EUR' } }],
      'events.0.data.amountCents',
    ],
    [
      'a field its schema does not know',
      [valid, valid, { type: 'AccountOpened', data: { accountId: 'a', owner: 'x' } }],
      'events.2.data.owner',
    ],
    [
      'a schema version the type never had',
      [{ ...valid, schemaVersion: 3 }],
      'events.0.schemaVersion',
    ],
    [
      'an old version that is invalid once upcast',
      [{ type: 'Deposited', schemaVersion: 1, data: { accountId: 'a' } }],
      'events.0.data.amountCents',
    ],
  ])(
    'refuses %s with 422 naming the field, storing nothing of the request',
    async (_, events, field) => {
      const before = await stored();
      const response = await append(stream(), events);
      expect(response.statusCode).toBe(422);
      const body = response.json();
      expect(body).toMatchObject({ error: 'invalid_event', field });
      expect(body.message).toMatch(new RegExp(`^${field.replaceAll('.', '\\.')} `));
      expect(await stored()).toEqual(before);
    },
  );

  it('stores a version 1 payload as version 1 and reads it back upcast to version 2', async () => {
    const id = stream();
    const response = await append(id, [
      { type: 'Deposited', schemaVersion: 1, data: { accountId: 'a', amountCents: 100 } },
      valid,
    ]);
    expect(response.statusCode).toBe(201);
    const rows = await sql.query<{ schema_version: number; data: object }>(
      'SELECT schema_version, data FROM refract.events WHERE stream_id = $1 ORDER BY version',
      [id],
    );
    expect(rows.rows).toEqual([
      { schema_version: 1, data: { accountId: 'a', amountCents: 100 } },
      { schema_version: 2, data: valid.data },
    ]);
    const read = await server.app.inject(`/streams/${id}`);
    expect(read.json().events.map((e: { data: object }) => e.data)).toEqual([
      { accountId: 'a', amountCents: 100, currency: 'EUR' },
      valid.data,
    ]);
  });
});
