import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobInfo } from './admin-types.js';
import { ExitCode } from './exit-codes.js';
import { runCli } from './program.js';
import type { ServiceRunners } from './services.js';

/**
 * A scripted stand-in for the admin HTTP API, to pin down which request each
 * command line sends and how each answer is reported. The real admin service
 * is exercised by cli.e2e.test.ts.
 */
interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The request's JSON body, when it sent one. */
  body?: unknown;
}
type Reply = { status: number; body?: unknown };
let routes: Map<string, Reply | (() => Reply)>;
let seen: Seen[];
let server: Server;
let url: string;
let tokenDir: string;
/** Where `pnpm start` would keep its token; empty unless a test writes it. */
let devTokenFile: string;

beforeAll(async () => {
  tokenDir = await mkdtemp(join(tmpdir(), 'refract-cli-'));
  devTokenFile = join(tokenDir, 'admin-token');
  server = createServer(async (req: IncomingMessage, res) => {
    const key = `${req.method} ${req.url}`.replace(/\?.*$/, '');
    let text = '';
    for await (const chunk of req) text += chunk;
    seen.push({
      method: req.method!,
      path: req.url!,
      authorization: req.headers.authorization,
      ...(text ? { body: JSON.parse(text) } : {}),
    });
    const route = routes.get(key);
    const reply =
      typeof route === 'function'
        ? route()
        : (route ?? { status: 404, body: { error: 'not_found', message: 'no such route' } });
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await rm(tokenDir, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  routes = new Map();
  seen = [];
});

async function run(argv: string[], token: string | null = 'secret', services?: ServiceRunners) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => {
    out += chunk;
  });
  stderr.on('data', (chunk) => {
    err += chunk;
  });
  const code = await runCli(argv, {
    stdout,
    stderr,
    config: {
      adminUrl: url,
      adminToken: token ?? undefined,
      databaseUrl: undefined,
      partitions: undefined,
      devTokenFile,
    },
    now: () => Date.parse('2026-01-01T00:00:10Z'),
    watchIntervalMs: 1,
    services,
  });
  return { code, out, err };
}

const job = (state: string, processed: number): JobInfo => ({
  jobId: '17',
  projection: 'customer_stats',
  state,
  processed,
  total: 100,
  eventsPerSecond: 50,
  etaSeconds: (100 - processed) / 50,
});

function statusRoutes() {
  routes.set('GET /api/projections', {
    status: 200,
    body: [
      {
        name: 'order_summary',
        version: 1,
        pool: 'orders',
        status: 'paused',
        headPosition: 10,
        lagEvents: 3,
        lagSeconds: 1,
        eventsPerSecond: 0,
        parked: 0,
        stalled: false,
        stalledSeconds: 0,
        partitions: [{ partition: 0, checkpoint: 7, owner: 'w1', lagEvents: 3 }],
        rebuild: null,
      },
    ],
  });
  routes.set('GET /api/workers', {
    status: 200,
    body: [
      {
        id: 'w1',
        pool: 'orders',
        host: 'h',
        pid: 42,
        partitions: [0],
        lastHeartbeat: '2026-01-01T00:00:09.5Z',
      },
    ],
  });
  routes.set('GET /api/relay', {
    status: 200,
    body: {
      leader: { pid: 9, application: 'refract-relay-main', address: null, connectedAt: 't' },
      publishedPosition: 10,
      headPosition: 10,
      lagEvents: 0,
      heldAt: null,
    },
  });
}

describe('refract', () => {
  it('status reads projections, workers and relay with the bearer token', async () => {
    statusRoutes();
    const { code, out } = await run(['status']);
    expect(code).toBe(ExitCode.ok);
    expect(seen.map((s) => s.path).sort()).toEqual([
      '/api/projections',
      '/api/relay',
      '/api/workers',
    ]);
    expect(seen.every((s) => s.authorization === 'Bearer secret')).toBe(true);
    expect(out).toMatch(/order_summary\s+1\s+orders\s+paused\s+3/);
    expect(out).toMatch(/w1\s+orders\s+h\s+42\s+1: 0\s+0.5s ago/);
    expect(out).toContain('relay: leader pid 9, published 10 of head 10');
  });

  it('--json prints the same data as JSON; --token and --url override the environment', async () => {
    statusRoutes();
    const { code, out } = await run(
      ['--json', '--token', 'other', '--url', url, 'status'],
      undefined,
    );
    expect(code).toBe(ExitCode.ok);
    const parsed = JSON.parse(out) as {
      projections: { name: string }[];
      relay: { leader: unknown };
    };
    expect(parsed.projections[0]!.name).toBe('order_summary');
    expect(parsed.relay.leader).toMatchObject({ pid: 9 });
    expect(seen[0]!.authorization).toBe('Bearer other');
  });

  it('pause and resume post to the projection; a 404 names it and exits 5', async () => {
    routes.set('POST /api/projections/order_summary/pause', {
      status: 200,
      body: { status: 'paused' },
    });
    routes.set('POST /api/projections/order_summary/resume', {
      status: 200,
      body: { status: 'running' },
    });
    expect((await run(['pause', 'order_summary'])).out).toBe('projection "order_summary" paused\n');
    expect((await run(['resume', 'order_summary'])).code).toBe(ExitCode.ok);
    const missing = await run(['pause', 'nope']);
    expect(missing.code).toBe(ExitCode.notFound);
    expect(missing.err).toContain('projection "nope" not found');
    const job404 = await run(['job', '99']);
    expect(job404.code).toBe(ExitCode.notFound);
    expect(job404.err).toContain('job 99 not found');
  });

  it('audit prints complete (exit 0), or what is missing since where and the partitions (exit 8); --full asks for a full one', async () => {
    const audit = (missing: number) => ({
      projection: 'order_summary',
      version: 2,
      complete: missing === 0,
      missing,
      since: missing === 0 ? 40 : 12,
      auditedAt: '2026-01-01T00:00:09.000Z',
      partitions: [
        { partition: 0, checkpoint: 40, missing: 0, since: 40 },
        { partition: 3, checkpoint: 41, missing, since: missing === 0 ? 41 : 12 },
      ],
    });
    routes.set('POST /api/projections/order_summary/audit', { status: 200, body: audit(0) });
    const clean = await run(['audit', 'order_summary']);
    expect(clean).toMatchObject({ code: ExitCode.ok });
    expect(clean.out).toBe('order_summary v2: complete (audited 2026-01-01T00:00:09.000Z)\n');
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/projections/order_summary/audit',
    });

    routes.set('POST /api/projections/order_summary/audit', { status: 200, body: audit(1) });
    const missing = await run(['audit', 'order_summary', '--full']);
    expect(missing.code).toBe(ExitCode.incomplete);
    expect(missing.out).toMatch(/^order_summary v2: 1 missing since position 12 \(audited .*\)\n/);
    expect(missing.out).toMatch(/PARTITION +CHECKPOINT +MISSING +SINCE\n +3 +41 +1 +12\n$/);
    expect(seen.at(-1)?.path).toBe('/api/projections/order_summary/audit?full=true');
    const json = await run(['--json', 'audit', 'order_summary']);
    expect(JSON.parse(json.out)).toMatchObject({ complete: false, missing: 1 });
    expect(json.code).toBe(ExitCode.incomplete);
  });

  it('401 exits 4 and says which token to fix; without a token it says how to get one', async () => {
    routes.set('GET /api/jobs/1', {
      status: 401,
      body: { error: 'unauthorized', message: 'bad token' },
    });
    const wrong = await run(['job', '1']);
    expect(wrong.code).toBe(ExitCode.unauthorized);
    expect(wrong.err).toContain('admin refused the token');
    const none = await run(['job', '1'], null);
    expect(none.code).toBe(ExitCode.unauthorized);
    expect(none.err).toContain('REFRACT_ADMIN_TOKEN');
    expect(seen[1]!.authorization).toBeUndefined();
  });

  it("without a token, uses pnpm start's token file for an admin on this machine", async () => {
    routes.set('GET /api/jobs/1', { status: 200, body: job('active', 1) });
    await writeFile(devTokenFile, 'from-file\n');
    try {
      expect((await run(['job', '1'], null)).code).toBe(ExitCode.ok);
      expect((await run(['job', '1'])).code).toBe(ExitCode.ok);
      expect(seen.map((s) => s.authorization)).toEqual(['Bearer from-file', 'Bearer secret']);
    } finally {
      await rm(devTokenFile);
    }
  });

  it('an unreachable admin exits 3 and names the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, err } = await run(['--url', `http://127.0.0.1:${port}`, 'status']);
    expect(code).toBe(ExitCode.unreachable);
    expect(err).toContain(`admin is not reachable at http://127.0.0.1:${port}`);
  });

  it('rebuild prints the job id; --watch follows it to completed (0) or failed (1)', async () => {
    routes.set('POST /api/projections/customer_stats/rebuild', {
      status: 202,
      body: { jobId: '17' },
    });
    const started = await run(['rebuild', 'customer_stats']);
    expect(started.code).toBe(ExitCode.ok);
    expect(started.out).toContain('job 17');

    const states = [job('waiting', 0), job('active', 40), job('completed', 100)];
    routes.set('GET /api/jobs/17', () => ({
      status: 200,
      body: states.length > 1 ? states.shift() : states[0],
    }));
    const watched = await run(['rebuild', 'customer_stats', '--watch']);
    expect(watched.code).toBe(ExitCode.ok);
    expect(watched.out).toContain('completed  100/100 (100%)');
    // Without a terminal, one plain line per state.
    expect(watched.err).toMatch(/waiting[\s\S]*active {2}40\/100 \(40%\)[\s\S]*completed/);

    routes.set('GET /api/jobs/17', { status: 200, body: { ...job('failed', 40), error: 'boom' } });
    const failed = await run(['--json', 'rebuild', 'customer_stats', '-w']);
    expect(failed.code).toBe(ExitCode.failed);
    expect(JSON.parse(failed.out)).toMatchObject({ state: 'failed', error: 'boom' });
  });

  it('rebuild while one runs: prints the running job (exit 6), or watches it with --watch', async () => {
    routes.set('POST /api/projections/customer_stats/rebuild', {
      status: 409,
      body: { error: 'rebuild_running', message: 'a rebuild runs', jobId: '16' },
    });
    const conflict = await run(['rebuild', 'customer_stats']);
    expect(conflict.code).toBe(ExitCode.conflict);
    expect(conflict.err).toContain('already running: job 16');
    routes.set('GET /api/jobs/16', { status: 200, body: { ...job('cancelled', 10), jobId: '16' } });
    const watched = await run(['rebuild', 'customer_stats', '--watch']);
    expect(watched.code).toBe(ExitCode.failed);
    expect(seen.at(-1)!.path).toBe('/api/jobs/16');
  });

  it('rebuild --expect-changes sends the declaration; a held rebuild exits 7 with its report; rebuild approve/cancel/status', async () => {
    routes.set('POST /api/projections/customer_stats/rebuild', {
      status: 202,
      body: { jobId: '18' },
    });
    routes.set('POST /api/projections/order_counts/rebuild', {
      status: 202,
      body: { jobId: '19' },
    });
    await run([
      'rebuild',
      'customer_stats',
      '--expect-changes',
      'customer_stats.orders_placed, status',
    ]);
    expect(seen.at(-1)!.body).toEqual({
      expectChanges: ['customer_stats.orders_placed', 'status'],
    });
    await run(['rebuild', 'customer_stats', '--expect-changes', 'any']);
    expect(seen.at(-1)!.body).toEqual({ expectChanges: 'any' });
    // Counters of a counter projection keep their case.
    await run(['rebuild', 'order_counts', '--expect-changes', 'order_counts.OrderShipped']);
    expect(seen.at(-1)!.body).toEqual({ expectChanges: ['order_counts.OrderShipped'] });
    const bad = await run(['rebuild', 'customer_stats', '--expect-changes', 'Drop;table']);
    expect(bad.code).toBe(ExitCode.usage);

    const held = {
      ...job('verifying', 100),
      jobId: '18',
      cutoverReport: {
        verdict: 'unexpected',
        liveVersion: 1,
        version: 2,
        tables: [
          {
            table: 'customer_stats',
            rows: { live: 5, next: 5 },
            differing: 1,
            unexpected: 1,
            first: [
              {
                key: { customer_id: 'c-1' },
                live: { orders_placed: 2 },
                next: { orders_placed: -1 },
              },
            ],
          },
        ],
      },
    };
    routes.set('GET /api/jobs/18', { status: 200, body: held });
    const watched = await run(['rebuild', 'customer_stats', '--watch']);
    expect(watched.code).toBe(ExitCode.held);
    const status = await run(['rebuild', 'status', '18']);
    expect(status.out).toContain('cutover v1 -> v2: unexpected');
    expect(status.out).toContain(
      '{"customer_id":"c-1"}: {"orders_placed":2} -> {"orders_placed":-1}',
    );

    routes.set('POST /api/jobs/18/approve', { status: 200, body: { ...held, state: 'waiting' } });
    const approved = await run(['rebuild', 'approve', '18']);
    expect(approved.code).toBe(ExitCode.ok);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', path: '/api/jobs/18/approve' });
    routes.set('POST /api/jobs/19/approve', {
      status: 409,
      body: { error: 'rebuild_not_verifying', message: 'job 19 is completed', field: 'jobId' },
    });
    expect((await run(['rebuild', 'approve', '19'])).code).toBe(ExitCode.conflict);
    routes.set('DELETE /api/jobs/18', { status: 200, body: { ...held, state: 'cancelled' } });
    expect((await run(['rebuild', 'cancel', '18'])).code).toBe(ExitCode.ok);
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', path: '/api/jobs/18' });
  });

  it('cancel deletes the job; parked lists, retries and skips by id', async () => {
    routes.set('DELETE /api/jobs/17', { status: 200, body: { jobId: '17', state: 'cancelled' } });
    expect((await run(['cancel', '17'])).out).toBe('job 17 cancelled\n');
    routes.set('GET /api/projections/customer_stats/parked', {
      status: 200,
      body: [
        {
          id: 7,
          partition: 3,
          position: 1234,
          eventType: 'ItemAdded',
          attempts: 5,
          error: 'bad\nsku',
          parkedAt: 't',
          resolution: null,
        },
      ],
    });
    const list = await run(['parked', 'customer_stats', '--events']);
    expect(list.out).toMatch(/^\s*7\s+3\s+1,234\s+ItemAdded\s+5\s+t\s+-\s+bad sku$/m);
    routes.set('POST /api/projections/customer_stats/parked/7/retry', { status: 200, body: {} });
    routes.set('POST /api/projections/customer_stats/parked/7/skip', {
      status: 409,
      body: { error: 'already_resolved', message: 'parked event 7 was retried already' },
    });
    expect((await run(['parked', 'customer_stats', 'retry', '7'])).out).toContain('retried');
    const again = await run(['parked', 'customer_stats', 'skip', '7']);
    expect(again.code).toBe(ExitCode.conflict);
    expect(again.err).toContain('retried already');
  });

  it('parked groups by stream and pages; retry --all and skip --stream act on streams', async () => {
    const parked = (id: number, position: number, error: string) => ({
      id,
      partition: 3,
      position,
      eventType: 'ItemAdded',
      attempts: 2,
      error,
      parkedAt: 't',
      resolution: null,
    });
    routes.set('GET /api/projections/order_summary/parked/streams', {
      status: 200,
      body: {
        streams: [
          {
            streamId: 'order-1',
            partition: 3,
            events: [parked(7, 1234, 'unitPrice must be a string'), parked(8, 1240, 'behind')],
          },
        ],
        next: 'order-1',
      },
    });
    const list = await run(['parked', 'order_summary']);
    expect(list.out).toMatch(
      /^order-1\s+3\s+2\s+7\s+1,234\s+ItemAdded\s+unitPrice must be a string$/m,
    );
    expect(list.out).toContain('more: --after order-1');
    routes.set('POST /api/projections/order_summary/parked/retry', {
      status: 200,
      body: { streams: 2, applied: 5, failed: [{ streamId: 'order-9', error: 'still bad' }] },
    });
    const retried = await run(['parked', 'order_summary', 'retry', '--all']);
    expect(retried.out).toContain('2 streams retried, 5 events applied');
    expect(retried.out).toContain('still parked: order-9: still bad');
    routes.set('POST /api/projections/order_summary/parked/skip', {
      status: 200,
      body: parked(7, 1234, 'x'),
    });
    const skipped = await run(['parked', 'order_summary', 'skip', '--stream', 'order-1']);
    expect(skipped.out).toContain('stream order-1 of "order_summary": parked event 7 skipped');
    expect(seen.at(-1)!.body).toEqual({ streamId: 'order-1' });
  });

  it('reactor replay posts the position; list prints the counts; a rebuild of a reactor exits 6', async () => {
    routes.set('POST /api/reactors/shipping_notices/replay', {
      status: 200,
      body: { name: 'shipping_notices', from: 0, partitions: [0, 3] },
    });
    routes.set('GET /api/reactors', {
      status: 200,
      body: [
        {
          name: 'shipping_notices',
          pool: 'notices',
          delivered: 5,
          exactlyOnce: 4,
          atLeastOnce: 1,
          pending: 0,
        },
      ],
    });
    routes.set('POST /api/projections/shipping_notices/rebuild', {
      status: 409,
      body: { error: 'reactor_not_rebuildable', message: 'rebuilds never run reactors' },
    });
    const replayed = await run(['reactor', 'replay', 'shipping_notices', '--from', '0']);
    expect(replayed.out).toBe(
      'reactor "shipping_notices" replays from position 0 (partitions 0, 3)\n',
    );
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: { from: 0 } });
    expect((await run(['reactor', 'list'])).out).toBe(
      'shipping_notices (pool notices): 5 delivered, 4 exactly once, 1 at least once (maybe twice), 0 pending\n',
    );
    const rebuild = await run(['rebuild', 'shipping_notices']);
    expect(rebuild.code).toBe(ExitCode.conflict);
    expect(rebuild.err).toContain('rebuilds never run reactors');
    const requests = seen.length;
    for (const argv of [
      ['reactor', 'replay', 'shipping_notices'],
      ['reactor', 'replay', 'shipping_notices', '--from', '-1'],
      ['reactor', 'replay', 'shipping_notices', '--from', 'x'],
    ]) {
      expect((await run(argv)).code, argv.join(' ')).toBe(ExitCode.usage);
    }
    expect(seen).toHaveLength(requests);
  });

  it('bad command lines exit 2 without a request', async () => {
    for (const argv of [
      ['frobnicate'],
      ['parked', 'customer_stats', 'retry'],
      ['parked', 'customer_stats', 'delete', '7'],
      ['--url', 'ftp://x', 'status'],
      ['rebuild'],
      ['migrate', '--partitions', 'many'],
      [],
    ]) {
      expect((await run(argv)).code, argv.join(' ')).toBe(ExitCode.usage);
    }
    const migrate = await run(['migrate']);
    expect(migrate.code).toBe(ExitCode.usage);
    expect(migrate.err).toContain('DATABASE_URL is not set');
    expect(seen).toEqual([]);
    expect((await run(['--help'])).code).toBe(ExitCode.ok);
  });
});

describe('refract service commands', () => {
  /** Which service each command line would run, and with what (the real runs: bin.e2e.test.ts). */
  function recorder() {
    const calls: [string, unknown][] = [];
    const record =
      (name: string) =>
      async (options?: unknown): Promise<void> => {
        calls.push([name, options]);
      };
    const services: ServiceRunners = {
      writeApi: record('write-api'),
      relay: record('relay'),
      worker: record('worker'),
      queryApi: record('query-api'),
      admin: record('admin'),
      dev: record('dev'),
    };
    return { calls, services };
  }

  it('runs each service with the module from --config, the worker with its --pool', async () => {
    const { calls, services } = recorder();
    for (const argv of [
      ['write-api', '--config', 'app/refract.config.ts'],
      ['worker', '--pool', 'orders', '--config=app/refract.config.ts'],
      ['worker'],
      ['query-api', '--config', '/srv/app.mjs'],
      ['write-api', '--insecure-no-auth'],
      ['admin'],
      ['relay', '--config', 'ignored.ts'],
      ['dev', '--config', 'examples/refract.config.ts'],
    ]) {
      expect((await run(argv, 'secret', services)).code, argv.join(' ')).toBe(ExitCode.ok);
    }
    expect(calls).toEqual([
      ['write-api', { appPath: 'app/refract.config.ts' }],
      ['worker', { appPath: 'app/refract.config.ts', pool: 'orders' }],
      // Unset: the service falls back to REFRACT_CONFIG, POOL, ./refract.config.ts itself.
      ['worker', { appPath: undefined, pool: undefined }],
      ['query-api', { appPath: '/srv/app.mjs' }],
      ['write-api', { appPath: undefined, insecureNoAuth: true }],
      ['admin', { appPath: undefined }],
      ['relay', undefined],
      ['dev', { appPath: 'examples/refract.config.ts' }],
    ]);
    expect(seen).toEqual([]);
  });

  it('a bad option exits 2 and runs nothing', async () => {
    const { calls, services } = recorder();
    for (const argv of [
      ['worker', '--pool', ' '],
      ['worker', '--pool'],
      ['write-api', '--config'],
      ['query-api', '--config', ''],
      ['admin', '--port', '80'],
      ['dev', 'extra'],
    ]) {
      expect((await run(argv, 'secret', services)).code, argv.join(' ')).toBe(ExitCode.usage);
    }
    expect(calls).toEqual([]);
    const { err } = await run(['worker', '--pool', ''], 'secret', services);
    expect(err).toContain("option '--pool <pool>' argument '' is invalid. must not be empty");
  });

  it('a service that cannot be loaded exits 1 with one line', async () => {
    const { services } = recorder();
    services.queryApi = async () => {
      throw new Error('Cannot find package @refract/query-api');
    };
    const { code, err } = await run(['query-api'], 'secret', services);
    expect(code).toBe(ExitCode.failed);
    expect(err).toBe('refract: Cannot find package @refract/query-api\n');
  });

  it('--help lists the service commands and the admin commands apart', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(ExitCode.ok);
    const services = out.indexOf('Run the system');
    const admin = out.indexOf('Operate a running install');
    expect(services).toBeGreaterThan(0);
    expect(admin).toBeGreaterThan(services);
    for (const name of ['write-api', 'relay', 'worker', 'query-api', 'admin', 'migrate', 'dev']) {
      const at = out.indexOf(`\n  ${name} `);
      expect(at, name).toBeGreaterThan(services);
      expect(at, name).toBeLessThan(admin);
    }
    for (const name of ['status', 'rebuild', 'job', 'cancel', 'pause', 'resume', 'parked']) {
      expect(out.indexOf(`\n  ${name} `), name).toBeGreaterThan(admin);
    }
  });

  it("each service command's --help says what it runs, what it reads and where the rest is", async () => {
    const help = async (name: string) => (await run([name, '--help'])).out;
    expect(await help('write-api')).toMatch(
      /Runs write-api[\s\S]*RELAY_MODE[\s\S]*@refract\/write-api\/README\.md/,
    );
    expect(await help('worker')).toMatch(
      /--pool <pool>[\s\S]*POOL[\s\S]*@refract\/projector-worker\/README\.md/,
    );
    expect(await help('query-api')).toContain('node_modules/@refract/query-api/README.md');
    expect(await help('admin')).toContain('node_modules/@refract/admin/README.md');
    expect(await help('relay')).toMatch(
      /runs no application[\s\S]*@refract\/relay-service\/README\.md/,
    );
    expect(await help('dev')).toContain('node_modules/@refract/dev-stack/README.md');
    for (const name of ['write-api', 'worker', 'query-api', 'admin', 'dev']) {
      expect(await help(name), name).toMatch(
        /--config <path>\s+the application module \(env REFRACT_CONFIG/,
      );
    }
    for (const name of ['write-api', 'query-api']) {
      expect(await help(name), name).toMatch(
        /--insecure-no-auth\s+listen beyond loopback without a token/,
      );
    }
  });
});
