import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionOf } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { generateWorkload, type WorkloadEvent } from '@refract/example-orders';
import {
  commitSkippedEvent,
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
  reservePosition,
  type ServiceProcess,
  serviceMain,
  startServiceProcess,
  startWebhookSink,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The dashboard in a real browser (the system Chromium) against the real
// stack: write-api with the relay, one worker of the orders pool, admin.

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'test-results');
const TOKEN = 'dashboard-e2e-token-0123456789';
const EVENTS = 2000;

let db: TestDatabase;
let ns: TestRedisNamespace;
let profile: string;
let context: BrowserContext;
let page: Page;
let writeApi: string;
let admin: string;
const processes: ServiceProcess[] = [];
/** Every confirmation the page asked for; each is accepted. */
const confirmations: string[] = [];
const pageErrors: string[] = [];
/** Every URL the page asked for: all must be admin's (no CDN, works offline). */
const requested: string[] = [];

async function start(service: string, portVariable: string, env: Record<string, string>) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  processes.push(
    await startServiceProcess(
      serviceMain(service),
      {
        DATABASE_URL: db.url,
        REDIS_URL: ns.url,
        REDIS_KEY_PREFIX: ns.prefix,
        [portVariable]: String(port),
        ...env,
      },
      `${base}/readyz`,
    ),
  );
  return base;
}

/** Appends whole order streams, eight requests at a time. */
async function appendStreams(events: WorkloadEvent[]): Promise<void> {
  const streams = new Map<string, WorkloadEvent[]>();
  for (const item of events) {
    const list = streams.get(item.streamId) ?? [];
    list.push(item);
    streams.set(item.streamId, list);
  }
  const queue = [...streams.entries()];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [streamId, items] = next;
        const response = await fetch(`${writeApi}/streams/${streamId}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ expectedVersion: 'no_stream', events: items.map((i) => i.event) }),
        });
        expect(response.status).toBe(201);
      }
    }),
  );
}

if (!existsSync(CHROMIUM)) {
  // .ci/run installs it, so CI always runs this test.
  console.warn(
    `${CHROMIUM} is missing: skipping the dashboard browser test (apt-get install chromium)`,
  );
}

const card = (projection: string) => `[data-projection="${projection}"]`;

async function lagShown(projection: string): Promise<number> {
  const text = await page.textContent(`${card(projection)} [data-field="lagEvents"]`);
  // "1,998" or "≈ 12,000"; "–" (no figure yet) is NaN, never 0.
  const digits = (text ?? '').replace(/[^\d]/g, '');
  return digits === '' ? Number.NaN : Number(digits);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  db = await createTestDatabase('dashboard_e2e');
  ns = createTestRedisNamespace('dashboard_e2e');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  writeApi = await start('write-api', 'WRITE_API_PORT', { WRITE_API_HOST: '127.0.0.1' });
  await start('projector-worker', 'WORKER_PORT', {
    POOL: 'orders',
    WORKER_HOST: '127.0.0.1',
    WORKER_HEARTBEAT_MS: '250',
    // The last test trips order_summary with three bad events.
    REFRACT_TRIP_AFTER_PARKED: '2',
  });
  admin = await start('admin', 'ADMIN_PORT', {
    ADMIN_HOST: '127.0.0.1',
    ADMIN_TOKEN: TOKEN,
    ADMIN_STREAM_INTERVAL_MS: '500',
    // Fine-grained, so the few seconds of lag the test causes are several samples.
    ADMIN_HISTORY_INTERVAL_MS: '500',
    // A full audit every 10th round: within seconds.
    REFRACT_AUDIT_INTERVAL_MS: '300',
  });

  profile = mkdtempSync(join(tmpdir(), 'refract-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
    // No bar animations: a screenshot shows the state the assertions saw.
    reducedMotion: 'reduce',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (dialog) => {
    confirmations.push(dialog.message());
    void dialog.accept();
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => requested.push(request.url()));
});

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await Promise.all(processes.map((p) => p.stop()));
  await ns?.cleanup();
  await db?.drop();
});

describe.skipIf(!existsSync(CHROMIUM))('the lag dashboard in Chromium', () => {
  it('asks for the token, then shows both projections, the pool and the relay, live', async () => {
    await page.goto(`${admin}/`);
    await page.waitForSelector('#token-dialog[open]');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await page.waitForSelector(card('order_summary'));
    await page.waitForSelector(card('customer_stats'));
    await page.waitForSelector('#connection[data-state="live"]');
    await page.waitForSelector('[data-pool="orders"] .worker');
    await page.waitForSelector('#relay [data-field="leader"]:not(.warn)');
    // A string, evaluated in the page: this file is compiled without the DOM's types.
    expect(await page.evaluate("sessionStorage.getItem('refract.adminToken')")).toBe(TOKEN);
    expect(
      requested.filter((url) => !url.startsWith(`${admin}/`) && !url.startsWith('data:')),
    ).toEqual([]);
  });

  it('builds no markup from strings: no innerHTML or its relatives in the page', () => {
    const dir = join(REPO_ROOT, 'services', 'admin', 'dashboard');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.js'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    }
  });

  it('shows the lag rise while a projection is paused and fall back to 0 once resumed', async () => {
    await page.click(`${card('customer_stats')} [data-action="pause"]`);
    await page.waitForSelector(
      `${card('customer_stats')} [data-field="status"][data-status="paused"]`,
    );
    expect(confirmations.at(-1)).toMatch(/^Pause customer_stats\?/);

    await appendStreams([...generateWorkload({ events: EVENTS })]);
    await eventually(async () => expect(await lagShown('customer_stats')).toBeGreaterThan(0), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-lag.png'), fullPage: true });
    // The other projection of the pool goes on.
    await eventually(async () => expect(await lagShown('order_summary')).toBe(0), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });

    await page.click(`${card('customer_stats')} [data-action="resume"]`);
    await page.waitForSelector(
      `${card('customer_stats')} [data-field="status"][data-status="running"]`,
    );
    await eventually(async () => expect(await lagShown('customer_stats')).toBe(0), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    // The sparkline has drawn what it saw.
    const peak = await page.textContent(`${card('customer_stats')} .spark-lag .spark-peak`);
    expect(Number((peak ?? '').replace(/[^\d]/g, ''))).toBeGreaterThan(0);
  });

  it('rebuilds a projection from its button and shows the progress bar reach done', async () => {
    const box = `${card('order_summary')} .rebuild`;
    await page.click(`${card('order_summary')} [data-action="rebuild"]`);
    expect(confirmations.at(-1)).toMatch(/^Rebuild order_summary\?/);
    await page.waitForSelector(`${box}:not([hidden])`);
    const states = new Set<string>();
    await eventually(
      async () => {
        const state = await page.getAttribute(box, 'data-state');
        if (state) states.add(state);
        expect(state).toBe('completed');
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    expect(await page.getAttribute(`${box} [role="progressbar"]`, 'aria-valuenow')).toBe('100');
    expect(states.size).toBeGreaterThan(1);
    // Done means every event it had to replay was replayed.
    expect(await page.textContent(`${box} .job-figures`)).toMatch(/^([\d,]+) \/ \1 events/);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('keeps the charts across a reload (admin kept the samples) and lists the rebuild that ran', async () => {
    const chart = `${card('customer_stats')} .spark-lag`;
    const peakOf = async () =>
      Number(((await page.textContent(`${chart} .spark-peak`)) ?? '').replace(/[^\d]/g, ''));
    // The lag of the paused projection, further up this file, is drawn now.
    expect(await peakOf()).toBeGreaterThan(0);
    const reloadedAt = Number(await page.evaluate('Date.now()'));
    await page.reload();
    await page.waitForSelector('#connection[data-state="live"]');
    // Every point the stream adds is from after the reload; points from before
    // it, and the peak of that lag (long gone to 0), can only be admin's history.
    await eventually(
      async () => {
        const from = Number(await page.getAttribute(chart, 'data-from'));
        expect(from).toBeGreaterThan(0);
        expect(from).toBeLessThan(reloadedAt - 2000);
        expect(await peakOf()).toBeGreaterThan(0);
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(Number(await page.getAttribute(chart, 'data-points'))).toBeGreaterThan(10);
    const row = '#rebuilds tr[data-state="completed"]';
    await page.waitForSelector(row);
    expect(await page.textContent(row)).toMatch(/^order_summarycompleted/);
    expect(await page.textContent(`${row} [data-field="duration"]`)).toMatch(/\d/);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-reloaded.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('shows the completeness audit beside lag: complete, then an event committed below a checkpoint behind the engine’s back as 1 missing', async () => {
    const figure = `${card('order_summary')} [data-field="audit"]`;
    await eventually(async () => expect(await page.textContent(figure)).toBe('complete'), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect(await page.textContent(`${card('order_summary')} [data-field="auditedAt"]`)).toMatch(
      /^audited /,
    );
    const store = await EventStore.open({ databaseUrl: db.url });
    try {
      // A position drawn now, committed only once the worker's checkpoint of
      // its partition has passed it: what a skipped event looks like.
      const late = await reservePosition(store.pool);
      const placed = {
        type: 'OrderPlaced',
        data: { orderId: 'audit-after', customerId: 'c-audit', placedAt: new Date().toISOString() },
      };
      const after = await store.append('order-audit-after', [placed]);
      const partition = partitionOf('order-audit-after', 4);
      let lateStream = 'order-audit-late';
      while (partitionOf(lateStream, 4) !== partition) lateStream += '-';
      await eventually(
        async () => {
          const response = await fetch(`${admin}/api/projections`, {
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          const projections = (await response.json()) as {
            name: string;
            partitions: { partition: number; checkpoint: number }[];
          }[];
          const summary = projections.find((p) => p.name === 'order_summary');
          const checkpoint = summary?.partitions.find((p) => p.partition === partition)?.checkpoint;
          expect(checkpoint).toBeGreaterThanOrEqual(after.lastPosition);
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await commitSkippedEvent(store.pool, {
        position: late,
        streamId: lateStream,
        type: 'OrderPlaced',
        data: { ...placed.data, orderId: 'audit-late' },
        partitions: 4,
      });
    } finally {
      await store.close();
    }
    // Found by the next incremental audit, or, had one already passed the
    // position, by the next full one.
    await eventually(
      async () => expect(await page.textContent(figure)).toMatch(/^1 missing since position \d+$/),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-audit.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('asks for the token again when the API refuses it', async () => {
    await page.evaluate("sessionStorage.setItem('refract.adminToken', 'wrong-token-wrong-token')");
    await page.reload();
    await page.waitForSelector('#token-dialog[open]');
    await page.waitForSelector('#connection[data-state="unauthorized"]');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await page.waitForSelector('#connection[data-state="live"]');
  });

  it('shows a tripped projection in a banner of its own, with its top errors by message and its streams', async () => {
    const store = await EventStore.open({ databaseUrl: db.url });
    try {
      for (let i = 0; i < 3; i++) {
        // Stored as by a client before the schema check: unitPrice a JSON
        // number, which the projections' handlers refuse.
        await store.append(`order-poison-${i}`, [
          {
            type: 'OrderPlaced',
            data: {
              orderId: `poison-${i}`,
              customerId: 'c-poison',
              placedAt: new Date().toISOString(),
            },
          },
          {
            type: 'ItemAdded',
            data: { orderId: `poison-${i}`, sku: 'sku', qty: 1, unitPrice: 12.5 },
          },
        ]);
      }
    } finally {
      await store.close();
    }
    const banner = '#trips .trip[data-kind="tripped"][data-projection="order_summary"]';
    await page.waitForSelector(banner, { timeout: 30_000 });
    expect(await page.textContent(banner)).toMatch(
      /^TRIPPED order_summary: more than 2 events parked since /,
    );
    expect(await page.textContent(`${banner} .trip-errors`)).toMatch(/^3 × invalid amount 12\.5/);
    await page.waitForSelector(`${banner} .trip-streams`);
    expect(await page.textContent(`${banner} .trip-streams`)).toContain('order-poison-0 (1)');
    await page.waitForSelector(
      `${card('order_summary')} [data-field="status"][data-status="tripped"]`,
    );
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-tripped.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
  it('shows a reactor as a third kind of consumer: its lag, its delivered and at-least-once counts, no Rebuild', async () => {
    const sink = await startWebhookSink();
    try {
      await start('projector-worker', 'WORKER_PORT', {
        POOL: 'notices',
        WORKER_HOST: '127.0.0.1',
        WORKER_HEARTBEAT_MS: '250',
        WEBHOOK_SINK_URL: sink.url,
      });
      // Registered at the head: only this order's notice is sent.
      const response = await fetch(`${writeApi}/streams/order-notice-1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          expectedVersion: 'no_stream',
          events: [
            {
              type: 'OrderPlaced',
              data: { orderId: 'notice-1', customerId: 'c-1', placedAt: new Date().toISOString() },
            },
            { type: 'OrderShipped', data: { orderId: 'notice-1', trackingNumber: 'T-1' } },
          ],
        }),
      });
      expect(response.status).toBe(201);
      await eventually(() => expect(sink.keys()).toEqual(['shipped:notice-1']), {
        timeoutMs: 30_000,
      });
      const reactor = `${card('shipping_notices')}[data-kind="reactor"]`;
      await page.waitForSelector(`${reactor} .reactor-effects`, { timeout: 30_000 });
      await eventually(
        async () =>
          expect(await page.textContent(`${reactor} .reactor-effects`)).toBe(
            'REACTOR · 1 delivered · 0 at least once (maybe twice) · 0 pending',
          ),
        { timeoutMs: 30_000 },
      );
      expect(await lagShown('shipping_notices')).toBe(0);
      expect(await page.isHidden(`${reactor} [data-action="rebuild"]`)).toBe(true);
      expect(await page.isVisible(`${card('order_summary')} [data-action="rebuild"]`)).toBe(true);
      expect(pageErrors).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});
