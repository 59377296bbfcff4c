import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { admin as contract } from '@refract/contract';
import { defineCounterProjection, defineProjection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger, createMetrics } from '@refract/observability';
import { catchUp, registerProjection } from '@refract/projector';
import { createRedisClient, type RedisClient } from '@refract/stream-bus';
import {
  commitSkippedEvent,
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  reservePosition,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApp, buildApp } from './app.js';
import { Auditor } from './auditor.js';

// The completeness audit through admin: the route `refract audit` calls, the
// stored results the dashboard reads, the periodic round and the metric.

const PARTITIONS = 4;
const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const logger = createLogger({ service: 'admin-audit-test', level: 'silent' });

const notes = defineProjection({
  name: 'notes',
  version: 1,
  pool: 'test',
  handles: ['Noted'],
  tables: ['notes'],
  setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('notes')} (position bigint PRIMARY KEY)`,
  async apply(event, ctx) {
    await ctx.sql.query(`INSERT INTO ${ctx.table('notes')} VALUES ($1)`, [event.position]);
  },
});
const tally = defineCounterProjection({
  name: 'tally',
  version: 1,
  pool: 'counters',
  handles: ['Noted'],
  increments: (events) => ({ noted: events.length }),
});

let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let redis: RedisClient;
let admin: AdminApp;
let dashboardDir: string;
/** The first complete audit's checkpoint and the late commit's partition, from the second test. */
let lateFound: { head: number; partition: number } | undefined;

async function noteSome(prefix: string, n: number) {
  for (let i = 0; i < n; i++) {
    await store.append(`${prefix}-${i}`, [{ type: 'Noted', data: { i } }]);
    await store.append(`${prefix}-${i}`, [{ type: 'Other', data: { i } }]);
  }
}

async function upToHead(): Promise<number> {
  const upTo = await store.headPosition();
  await catchUp({ store, projections: [{ projection: notes, version: 1 }], upTo, log: logger });
  return upTo;
}

type AuditBody = contract.ProjectionAuditView;

const auditNow = (name: string, headers: Record<string, string> = auth) =>
  admin.app.inject({ method: 'POST', url: `/api/projections/${name}/audit`, headers });

beforeAll(async () => {
  db = await createTestDatabase('admin-audit');
  ns = await createTestRedisNamespace('admin-audit');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  redis = createRedisClient(ns.url);
  dashboardDir = await mkdtemp(join(tmpdir(), 'admin-audit-'));
  await registerProjection(store.pool, notes, PARTITIONS, 1);
  admin = await buildApp({
    store,
    redis,
    keyPrefix: ns.prefix,
    projections: [notes, tally],
    token: TOKEN,
    metricsRefreshMs: 3_600_000,
    auditIntervalMs: 100,
    // Incremental rounds only: a full one would rightly report the late
    // commit below as missing since 0 and race the `since` checks. The full
    // round has its own test below.
    auditFullEvery: Number.MAX_SAFE_INTEGER,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    dashboardDir,
  });
  await admin.app.ready();
});

afterAll(async () => {
  await admin?.app.close();
  redis?.disconnect();
  await store?.close();
  await ns?.cleanup();
  await db?.drop();
  if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
});

describe('the completeness audit in admin', () => {
  it('refuses what it cannot audit, naming it, and needs the operator token', async () => {
    const unknown = await auditNow('nothing_here');
    expect(unknown.statusCode).toBe(404);
    const counter = await auditNow('tally');
    expect(counter.statusCode).toBe(400);
    expect(counter.json()).toMatchObject({ error: 'invalid_request', field: 'name' });
    expect((await auditNow('notes', {})).statusCode).toBe(401);
  });

  it('reports a clean projection complete, then an event committed behind the engine’s back as 1 missing since the last complete audit: on the route, in the stored list and the metric', async () => {
    await noteSome('first', 12);
    const head = await upToHead();
    const clean = await auditNow('notes');
    expect(clean.statusCode, clean.body).toBe(200);
    expect(clean.json()).toMatchObject({
      projection: 'notes',
      version: 1,
      complete: true,
      missing: 0,
    });

    // A position drawn now and committed once the checkpoints have passed it: a late commit.
    const late = await reservePosition(store.pool);
    await noteSome('second', 6);
    const later = await upToHead();
    expect(later).toBeGreaterThan(late);
    const partition = await commitSkippedEvent(store.pool, {
      position: late,
      streamId: 'late-one',
      type: 'Noted',
      partitions: PARTITIONS,
    });

    const found = await auditNow('notes');
    expect(found.statusCode, found.body).toBe(200);
    const body = found.json() as AuditBody;
    expect(body).toMatchObject({ complete: false, missing: 1, since: head });
    expect(body.partitions.filter((p) => p.missing !== 0)).toEqual([
      { partition, checkpoint: later, missing: 1, since: head },
    ]);

    // The periodic round finds it too: the stored list (the dashboard's) and the metric.
    const started = Date.now();
    await eventually(async () => {
      const listed = await admin.app.inject({ method: 'GET', url: '/api/audits', headers: auth });
      expect(listed.statusCode).toBe(200);
      const [audit] = listed.json() as AuditBody[];
      expect(audit).toMatchObject({
        projection: 'notes',
        complete: false,
        missing: 1,
        since: head,
      });
      expect(Date.parse(audit!.auditedAt!)).toBeGreaterThan(started);
    });
    const scrape = await admin.app.inject('/metrics');
    expect(scrape.body).toContain(
      'refract_projection_audit_missing{projection="notes",version="1"} 1',
    );
    lateFound = { head, partition };
  });

  it('makes every fullEvery-th round a full audit, which counts the whole log and reports the late commit as missing since the count began', async () => {
    expect(lateFound).toBeDefined();
    const seen: Array<{ round: number; since: number; missing: number }> = [];
    const auditor = new Auditor({
      pool: store.pool,
      projections: [notes],
      intervalMs: 20,
      fullEvery: 2,
      log: logger,
      onAudit: (audit) =>
        seen.push({ round: seen.length + 1, since: audit.since, missing: audit.missing }),
    });
    auditor.start();
    try {
      await eventually(() => expect(seen.length).toBeGreaterThanOrEqual(2));
    } finally {
      await auditor.stop();
    }
    // Round 1 incremental: from the last complete audit. Round 2 full: from 0,
    // where this database's applied count began.
    expect(seen.slice(0, 2)).toEqual([
      { round: 1, since: lateFound!.head, missing: 1 },
      { round: 2, since: 0, missing: 1 },
    ]);
  });
});
