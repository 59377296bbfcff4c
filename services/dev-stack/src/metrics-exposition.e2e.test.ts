import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@refract/event-store';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
  type ServiceProcess,
  serviceMain,
  startServiceProcess,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every service's /metrics, scraped from the real processes after some
// traffic (so labelled series exist), must pass `promtool check metrics`
// (the exposition format and Prometheus' naming lint) and name only metrics
// that docs/metrics.md documents.

const ADMIN_TOKEN = 'metrics-test-token';
const PROMTOOL = findPromtool();

function findPromtool(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/promtool`)) return `${dir}/promtool`;
  }
  return undefined;
}

if (!PROMTOOL) {
  // .ci/run installs it, so CI always runs these checks.
  console.warn(
    'promtool is not installed: skipping the /metrics format checks (apt-get install prometheus)',
  );
}

let db: TestDatabase;
let lastPosition = 0;
let ns: TestRedisNamespace;
const services = new Map<string, { process: ServiceProcess; base: string }>();

async function start(name: string, env: Record<string, string>, portVariable: string) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const process = await startServiceProcess(
    serviceMain(name),
    { DATABASE_URL: db.url, [portVariable]: String(port), ...env },
    `${base}/readyz`,
  );
  services.set(name, { process, base });
  return base;
}

beforeAll(async () => {
  if (!PROMTOOL) return;
  db = await createTestDatabase('metrics_exposition');
  ns = createTestRedisNamespace('metrics_exposition');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  const redis = { REDIS_URL: ns.url, REDIS_KEY_PREFIX: ns.prefix };
  const writeApi = await start(
    'write-api',
    { ...redis, WRITE_API_HOST: '127.0.0.1' },
    'WRITE_API_PORT',
  );
  // A second relay process: it stands by (the embedded one leads), which is
  // the follower's view of the same metrics.
  await start('relay', { ...redis, RELAY_HOST: '127.0.0.1' }, 'RELAY_PORT');
  await start(
    'projector-worker',
    { ...redis, POOL: 'orders', WORKER_HOST: '127.0.0.1', WORKER_HEARTBEAT_MS: '250' },
    'WORKER_PORT',
  );
  const queryApi = await start('query-api', { QUERY_API_HOST: '127.0.0.1' }, 'QUERY_API_PORT');
  await start('admin', { ...redis, ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN }, 'ADMIN_PORT');

  // Traffic: commands, appends, a read that waits for the projection, a 404.
  const post = (path: string, body: unknown) =>
    fetch(`${writeApi}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await post('/commands/PlaceOrder', { orderId: 'm1', customerId: 'c1' })).status).toBe(
    200,
  );
  const added = await post('/commands/AddItem', {
    orderId: 'm1',
    sku: 'book',
    qty: 2,
    unitPrice: '12.50',
  });
  const { position } = (await added.json()) as { position: number };
  const noted = await post('/streams/order-m2/events', {
    events: [
      {
        type: 'OrderPlaced',
        data: { orderId: 'm2', customerId: 'c1', placedAt: '2024-01-01T00:00:00.000Z' },
      },
    ],
  });
  expect(noted.status).toBe(201);
  lastPosition = ((await noted.json()) as { lastPosition: number }).lastPosition;
  const read = await fetch(`${queryApi}/orders/m1?minPosition=${position}&timeoutMs=10000`);
  expect(read.status).toBe(200);
  await fetch(`${queryApi}/orders/does-not-exist`);
  const admin = services.get('admin')!;
  await eventually(async () => {
    const r = await fetch(`${admin.base}/api/projections`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(r.status).toBe(200);
  });
});

afterAll(async () => {
  await Promise.all([...services.values()].map((s) => s.process.stop()));
  await ns?.cleanup();
  await db?.drop();
});

function promtool(args: string[], input = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

const promtoolCheck = (text: string) => promtool(['check', 'metrics'], text);

const documented = () => readFileSync(`${REPO_ROOT}docs/metrics.md`, 'utf8');

describe.skipIf(!PROMTOOL)('/metrics of every service', () => {
  const names = ['write-api', 'relay', 'projector-worker', 'query-api', 'admin'];
  for (const name of names) {
    it(`${name}: promtool accepts it, and every refract_ metric is documented`, async () => {
      const service = services.get(name)!;
      const response = await fetch(`${service.base}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      expect(text).toContain('process_cpu_user_seconds_total');

      const result = await promtoolCheck(text);
      expect(result.output).toBe('');
      expect(result.code).toBe(0);

      const doc = documented();
      const metricNames = new Set(
        [...text.matchAll(/^# TYPE (refract_\w+) /gm)].map((match) => match[1]!),
      );
      expect(metricNames.size).toBeGreaterThan(0);
      const missing = [...metricNames].filter((metric) => !doc.includes(`\`${metric}\``));
      expect(missing).toEqual([]);
    });
  }

  it('the relay leader reports the head and its lag; the follower reports 0', async () => {
    const gauge = async (service: string, metric: string) => {
      const text = await (await fetch(`${services.get(service)!.base}/metrics`)).text();
      const match = new RegExp(`^${metric} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : undefined;
    };
    await eventually(async () => {
      expect(await gauge('write-api', 'refract_relay_leader')).toBe(1);
      expect(await gauge('write-api', 'refract_relay_head_position')).toBe(lastPosition);
      expect(await gauge('write-api', 'refract_relay_unpublished_events')).toBe(0);
    });
    expect(await gauge('relay', 'refract_relay_leader')).toBe(0);
    expect(await gauge('relay', 'refract_relay_unpublished_events')).toBe(0);
  });

  it('the lint fails a bad exposition (the check can fail)', async () => {
    const result = await promtoolCheck('# TYPE refract_bad counter\nrefract_bad 1\n');
    expect(result.code).not.toBe(0);
  });
});

interface GrafanaPanel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}

describe.skipIf(!PROMTOOL)('docs/grafana/refract-dashboard.json', () => {
  const dashboard = JSON.parse(
    readFileSync(`${REPO_ROOT}docs/grafana/refract-dashboard.json`, 'utf8'),
  ) as {
    uid: string;
    title: string;
    panels: GrafanaPanel[];
    templating: { list: { type: string }[] };
  };
  const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));

  it('is importable: a uid, a title, a data source variable, panels with queries', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBe('Refract');
    expect(dashboard.templating.list.some((v) => v.type === 'datasource')).toBe(true);
    expect(queries.length).toBeGreaterThan(20);
  });

  it('queries parse as PromQL (promtool check rules) and use documented metrics only', async () => {
    // Grafana's variables replaced by what they expand to.
    const exprs = queries.map((q) =>
      q
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$projection', '.*')
        .replaceAll('$pool', '.*'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'refract-grafana-'));
    try {
      const file = join(dir, 'rules.yml');
      const rules = exprs.map(
        (expr, i) =>
          `      - record: refract_dashboard_query_${i}\n        expr: ${JSON.stringify(expr)}`,
      );
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const result = await promtool(['check', 'rules', file]);
      expect(result.output).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const doc = documented();
    const used = new Set(
      queries.flatMap((q) =>
        [...q.matchAll(/\b(refract_\w+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!),
      ),
    );
    expect([...used].filter((metric) => !doc.includes(`\`${metric}\``))).toEqual([]);
  });
});
