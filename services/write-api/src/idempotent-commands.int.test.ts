import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { migrate } from '@refract/event-store';
import { ordersApp } from '@refract/example-orders';
import { createLogger, createMetrics } from '@refract/observability';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startWriteApi, type WriteApiServer } from './server.js';

// Commands with an Idempotency-Key over real HTTP, on a write-api started
// from its environment (the TTL comes from COMMAND_IDEMPOTENCY_TTL_SECONDS).

let db: TestDatabase;
let server: WriteApiServer;
let sql: pg.Pool;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('write_api_idempotency');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const config = loadConfig({
    DATABASE_URL: db.url,
    RELAY_MODE: 'off',
    WRITE_API_PORT: '0',
    WRITE_API_HOST: '127.0.0.1',
    COMMAND_IDEMPOTENCY_TTL_SECONDS: '120',
  });
  server = await startWriteApi(
    config,
    ordersApp,
    createLogger({ service: 'write-api', level: 'silent' }),
    createMetrics({ defaultMetrics: false }),
  );
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
  await sql?.end();
  await db?.drop();
});

interface Answer {
  status: number;
  replayed: string | null;
  body: Record<string, unknown>;
}

async function command(type: string, body: unknown, key?: string): Promise<Answer> {
  const response = await fetch(`${base}/commands/${type}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** A command through node:http, which can send a header twice or in Latin-1. */
function rawCommand(type: string, body: unknown, key: string | string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${base}/commands/${type}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            replayed: (response.headers['idempotent-replayed'] as string | undefined) ?? null,
            body: JSON.parse(text),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

async function itemsOf(orderId: string): Promise<string[]> {
  const { rows } = await sql.query<{ sku: string }>(
    `SELECT data->>'sku' AS sku FROM refract.events
     WHERE stream_id = $1 AND type = 'ItemAdded' ORDER BY version`,
    [`order-${orderId}`],
  );
  return rows.map((row) => row.sku);
}

async function countEvents(): Promise<number> {
  return (await sql.query('SELECT count(*)::int AS n FROM refract.events')).rows[0].n;
}

async function placedOrder(): Promise<string> {
  const orderId = `o-${randomUUID()}`;
  expect((await command('PlaceOrder', { orderId, customerId: 'c-1' })).status).toBe(200);
  return orderId;
}

const addItem = (orderId: string, sku = 'book') => ({ orderId, sku, qty: 1, unitPrice: '12.50' });

describe('POST /commands/{type} with Idempotency-Key', () => {
  it('runs 20 concurrent retries once: one item, the same answer for all 20', async () => {
    const orderId = await placedOrder();
    const key = randomUUID();
    // Open 20 kept-alive connections first, so the retries arrive together.
    await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${base}/healthz`).then((r) => r.text())),
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => command('AddItem', addItem(orderId), key)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const first = answers[0]!.body;
    expect(first).toEqual({
      streamId: `order-${orderId}`,
      version: 1,
      position: expect.any(Number),
    });
    for (const answer of answers) expect(answer.body).toEqual(first);
    expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(19);
    expect(await itemsOf(orderId)).toEqual(['book']);

    // A retry later still gets that answer, after the order moved on.
    await command('AddItem', addItem(orderId, 'pen'));
    const late = await command('AddItem', addItem(orderId), key);
    expect(late).toEqual({ status: 200, replayed: 'true', body: first });
    expect(await itemsOf(orderId)).toEqual(['book', 'pen']);
  });

  it('compares the body as JSON: key order and spacing do not matter, toCommand defaults do not either', async () => {
    const orderId = `o-${randomUUID()}`;
    const key = randomUUID();
    // PlaceOrder stamps placedAt with the current time when the body has none.
    const placed = await command('PlaceOrder', { orderId, customerId: 'c-1' }, key);
    expect(placed.status).toBe(200);
    const again = await fetch(`${base}/commands/PlaceOrder`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: `{ "customerId" : "c-1",\n  "orderId": ${JSON.stringify(orderId)} }`,
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(placed.body);
  });

  it('answers 409 idempotency_conflict for the key with another body or command type, writing nothing', async () => {
    const orderId = await placedOrder();
    const key = randomUUID();
    expect((await command('AddItem', addItem(orderId), key)).status).toBe(200);
    const events = await countEvents();
    const conflicts: [string, unknown][] = [
      ['AddItem', addItem(orderId, 'pen')],
      ['AddItem', { ...addItem(orderId), unitPrice: '12.5' }],
      ['CancelOrder', { orderId, reason: 'changed my mind' }],
      ['PlaceOrder', { orderId: `o-${randomUUID()}`, customerId: 'c-1' }],
    ];
    for (const [type, body] of conflicts) {
      const answer = await command(type, body, key);
      expect(answer.status, `${type} ${JSON.stringify(body)}`).toBe(409);
      expect(answer.body).toEqual({
        error: 'idempotency_conflict',
        message: expect.stringContaining(key),
        idempotencyKey: key,
      });
    }
    expect(await countEvents()).toBe(events);
    expect(await itemsOf(orderId)).toEqual(['book']);
  });

  it('answers 400 naming the header for a key that is not 1 to 200 visible ASCII characters', async () => {
    const orderId = await placedOrder();
    const events = await countEvents();
    const bad: (string | string[])[] = ['', 'a b', 'café', 'x'.repeat(201), ['one', 'two']];
    for (const key of bad) {
      const answer = await rawCommand('AddItem', addItem(orderId), key);
      expect(answer.status, JSON.stringify(key)).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request', field: 'Idempotency-Key' });
    }
    expect(await countEvents()).toBe(events);
    expect((await command('AddItem', addItem(orderId), '~'.repeat(200))).status).toBe(200);
  });

  it('stores no key for a refused command: the retry runs it again', async () => {
    const orderId = `o-${randomUUID()}`;
    const key = randomUUID();
    // No such order yet: the decider refuses, and the key is not kept.
    const refused = await command('AddItem', addItem(orderId), key);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'rule_violated' });
    const invalid = await command('AddItem', { ...addItem(orderId), qty: 'two' }, key);
    expect(invalid.status).toBe(400);
    await command('PlaceOrder', { orderId, customerId: 'c-1' });
    const ran = await command('AddItem', addItem(orderId), key);
    expect(ran).toMatchObject({ status: 200, replayed: null, body: { version: 1 } });
    expect(await itemsOf(orderId)).toEqual(['book']);
  });

  it('keeps a key for COMMAND_IDEMPOTENCY_TTL_SECONDS, then runs the command again', async () => {
    const orderId = await placedOrder();
    const key = randomUUID();
    await command('AddItem', addItem(orderId), key);
    const { rows } = await sql.query(
      `SELECT extract(epoch FROM expires_at - created_at)::float8 AS ttl
       FROM refract.idempotency_keys WHERE idempotency_key = $1`,
      [key],
    );
    expect(rows[0].ttl).toBe(120);

    await sql.query(
      `UPDATE refract.idempotency_keys SET expires_at = now() - interval '1 second'
       WHERE idempotency_key = $1`,
      [key],
    );
    const again = await command('AddItem', addItem(orderId), key);
    expect(again).toMatchObject({ status: 200, replayed: null, body: { version: 2 } });
    expect(await itemsOf(orderId)).toEqual(['book', 'book']);
  });

  it('leaves commands without the header as they were: each one runs', async () => {
    const orderId = await placedOrder();
    const answers = [
      await command('AddItem', addItem(orderId)),
      await command('AddItem', addItem(orderId)),
    ];
    expect(answers.map((a) => [a.status, a.replayed, a.body.version])).toEqual([
      [200, null, 1],
      [200, null, 2],
    ]);
    expect(await itemsOf(orderId)).toEqual(['book', 'book']);
    const keys = await sql.query(
      `SELECT count(*)::int AS n FROM refract.idempotency_keys WHERE stream_id = $1`,
      [`order-${orderId}`],
    );
    expect(keys.rows[0].n).toBe(0);
  });

  it('counts replays apart in the commands metric', async () => {
    const orderId = await placedOrder();
    const key = randomUUID();
    await command('AddItem', addItem(orderId), key);
    await command('AddItem', addItem(orderId), key);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /^refract_write_api_commands_total\{command="AddItem",outcome="replayed"\} [1-9]/m,
    );
  });
});
