import { CONTRACT_VERSION } from '@refract/contract';
import {
  type AnyProjection,
  isCounterProjection,
  type Projection,
  type Reactor,
} from '@refract/core';
import { createPool, type EventStore } from '@refract/event-store';
import type { Logger, Metrics } from '@refract/observability';
import { LagMonitor, reactorProjection } from '@refract/projector';
import type { RebuildQueue } from '@refract/rebuild';
import { createHttpApp, installContract, typed } from '@refract/service-kit';
import type { RedisClient } from '@refract/stream-bus';
import type { FastifyInstance } from 'fastify';
import { Auditor } from './auditor.js';
import { adminTokens, installAuth } from './auth.js';
import { isExpected, toHttpError } from './errors.js';
import { OverviewHistory } from './history.js';
import { adminMetrics } from './metrics.js';
import { MetricsCache } from './metrics-cache.js';
import { AdminOverview } from './overview.js';
import { registerAuditRoutes } from './routes/audits.js';
import { registerClusterRoutes } from './routes/cluster.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerHistoryRoute } from './routes/history.js';
import { JOBS_BOARD_PATH, registerJobsBoard } from './routes/jobs-board.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registeredProjection, registerProjectionRoutes } from './routes/projections.js';
import { registerReactorRoutes } from './routes/reactors.js';
import { registerRebuildRoutes } from './routes/rebuilds.js';
import { OverviewStream, registerStreamRoute } from './routes/stream.js';

export interface AppOptions {
  /** Postgres: the registry, checkpoints, parked events, the log. */
  store: EventStore;
  /** Pool membership and leases; a fail-fast connection. */
  redis: RedisClient;
  keyPrefix: string;
  /**
   * The application's projections: the only ones listed (a registered
   * projection the module does not declare is left out), and the handlers
   * of parked retries and rebuilds.
   */
  projections: readonly AnyProjection[];
  /** The application's reactors: listed beside the projections, replayed, never rebuilt. */
  reactors?: readonly Reactor[];
  /** The operator token (ADMIN_TOKEN): every protected endpoint takes it. */
  token: string;
  /** Read-only tokens: reads (GET) and the stream, nothing that changes state. */
  readTokens?: readonly string[];
  /** /api/stream connections allowed per token; more are answered 429. @defaultValue 10 */
  streamMaxClientsPerToken?: number;
  /** How often the /metrics gauges are re-read. @defaultValue 5000 */
  metricsRefreshMs?: number;
  /** Time between rounds of the completeness audit (REFRACT_AUDIT_INTERVAL_MS). @defaultValue 60000 */
  auditIntervalMs?: number;
  /** Every this many audit rounds a full one, counting each partition's whole log. @defaultValue 10 */
  auditFullEvery?: number;
  logger: Logger;
  metrics: Metrics;
  /** @defaultValue 'main' */
  relayName?: string;
  /** @defaultValue 30000 */
  stallThresholdMs?: number;
  /** Unapplied events counted exactly per partition; extrapolated beyond. @defaultValue 1000 */
  lagCountLimit?: number;
  /** @defaultValue 1000 */
  streamIntervalMs?: number;
  /** @defaultValue 15000 */
  streamHeartbeatMs?: number;
  /** The dashboard's history (`/api/history`). @defaultValue one sample per 5 s, kept 15 minutes */
  history?: { intervalMs: number; windowMs: number };
  /** @defaultValue 1000 */
  readyTimeoutMs?: number;
  /** The dashboard's static files; a placeholder page when it has no index.html. */
  dashboardDir: string;
  /** The rebuild job layer (its queue also feeds bull-board); without it no rebuild endpoints are registered. */
  rebuild?: RebuildQueue;
}

export interface AdminApp {
  app: FastifyInstance;
  /** Every route as registered, with whether it is public: the auth test walks them all. */
  routes: { method: string; url: string; public: boolean }[];
  overview: AdminOverview;
  stream: OverviewStream;
  history: OverviewHistory;
  metricsCache: MetricsCache;
  auditor: Auditor;
}

/**
 * Builds the admin API without listening: main.ts listens, tests inject.
 * The store, Redis and the rebuild layer belong to the caller, who closes
 * them after the app. Every route needs the token unless marked public.
 */
export async function buildApp(options: AppOptions): Promise<AdminApp> {
  const { store, logger } = options;
  const counters = adminMetrics(options.metrics);
  const app = createHttpApp({
    logger,
    metrics: counters,
    // Nothing here reads a body.
    bodyLimitBytes: 1024,
    toHttpError,
    expected: isExpected,
  });
  installAuth(app, adminTokens(options.token, options.readTokens), {
    basicAuthPrefix: JOBS_BOARD_PATH,
  });
  const routes: AdminApp['routes'] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, public: route.config?.public === true });
    }
  });
  installContract(app, {
    title: 'Refract admin',
    version: CONTRACT_VERSION,
    description: 'Projections, parked events, rebuilds, workers and the relay.',
    // bull-board's own pages and API: a third party's routes, not ours to describe.
    exempt: (route) => route.url.startsWith(JOBS_BOARD_PATH),
    // The contract is no secret: generated clients read it before they have a token.
    openApiConfig: { public: true },
  });
  // The document sees only routes added after its plugin has loaded.
  await app.after();
  const api = typed(app);

  const lag = new LagMonitor(store.pool, {
    stallThresholdMs: options.stallThresholdMs,
    countLimit: options.lagCountLimit,
    // The stream, a scrape and a few dashboards in one moment share one read.
    maxAgeMs: 250,
  });
  const overviewOptions = {
    pool: store.pool,
    redis: options.redis,
    keyPrefix: options.keyPrefix,
    partitions: store.partitions,
    relayName: options.relayName ?? 'main',
    lag,
    rebuild: options.rebuild,
    projections: [...options.projections, ...(options.reactors ?? [])].map((p) => p.name),
    reactors: (options.reactors ?? []).map((r) => r.name),
  };
  const overview = new AdminOverview(overviewOptions);
  const stream = new OverviewStream({
    overview,
    intervalMs: options.streamIntervalMs ?? 1000,
    heartbeatMs: options.streamHeartbeatMs ?? 15_000,
    maxClientsPerToken: options.streamMaxClientsPerToken ?? 10,
    log: logger,
  });
  // Open streams would hold the server's close until their clients leave.
  app.addHook('preClose', async () => stream.close());
  // Its own lag reads: sharing the overview's (cached for 250 ms) would let a
  // background sample serve a request figures from before what it asks about.
  const sampled = new AdminOverview({
    ...overviewOptions,
    lag: new LagMonitor(store.pool, {
      stallThresholdMs: options.stallThresholdMs,
      countLimit: options.lagCountLimit,
    }),
  });
  const history = new OverviewHistory({
    read: () => sampled.projections(),
    ...(options.history ?? { intervalMs: 5000, windowMs: 15 * 60_000 }),
    log: logger,
  });
  // Sampled from when the app is ready (listening, or a test's first inject) until it closes.
  app.addHook('onReady', async () => history.start());
  app.addHook('preClose', async () => history.close());

  const declared = new Set(options.projections.map((p) => p.name));
  const metricsCache = new MetricsCache({
    intervalMs: options.metricsRefreshMs ?? 5000,
    log: logger,
    refresh: async () => {
      const [projections, workers, relay, counts] = await Promise.all([
        overview.projections(),
        overview.workers().catch(() => undefined),
        overview.relay(),
        options.rebuild?.queue.getJobCounts().catch(() => undefined),
      ]);
      counters.update({ projections, workers, relay }, counts);
      return { complete: [...declared].every((name) => projections.some((p) => p.name === name)) };
    },
  });
  app.addHook('onReady', async () => metricsCache.start());
  app.addHook('preClose', async () => metricsCache.stop());

  const auditor = new Auditor({
    pool: store.pool,
    projections: options.projections.filter((p): p is Projection => !isCounterProjection(p)),
    intervalMs: options.auditIntervalMs ?? 60_000,
    fullEvery: options.auditFullEvery,
    log: logger,
    onAudit: (audit) => counters.audit(audit),
  });
  app.addHook('onReady', async () => auditor.start());
  app.addHook('preClose', async () => auditor.stop());

  registerProbeRoutes(api, {
    pool: store.pool,
    metrics: options.metrics,
    readyTimeoutMs: options.readyTimeoutMs ?? 1000,
    cache: metricsCache,
  });
  registerProjectionRoutes(api, {
    store,
    overview,
    projections: [...options.projections, ...reactorsAsProjections(app, store, options.reactors)],
  });
  registerAuditRoutes(api, {
    pool: store.pool,
    auditor,
    counters: new Set(options.projections.filter(isCounterProjection).map((p) => p.name)),
  });
  registerReactorRoutes(api, { store, reactors: options.reactors ?? [] });
  registerClusterRoutes(api, overview);
  registerHistoryRoute(api, history);
  if (options.rebuild) {
    registerRebuildRoutes(api, {
      rebuild: options.rebuild,
      registered: registeredProjection(store.pool),
      projections: options.projections,
      reactors: (options.reactors ?? []).map((r) => r.name),
    });
    await registerJobsBoard(app, options.rebuild.queue);
  }
  registerStreamRoute(api, stream);
  await registerDashboardRoutes(api, options.dashboardDir);
  return { app, routes, overview, stream, history, metricsCache, auditor };
}

/**
 * The reactors as the projector runs them, so that their parked events are
 * retried (and skips release the events behind) through their handlers, with
 * `ctx.effect` and the ledger, exactly as a projection's. The ledger's
 * attempts commit at once on a pool of their own: on the store's, retries
 * holding its connections while waiting on a partition's row could leave
 * none for the attempt of the retry that holds the row.
 */
function reactorsAsProjections(
  app: FastifyInstance,
  store: EventStore,
  reactors: readonly Reactor[] = [],
): Projection[] {
  if (reactors.length === 0) return [];
  const ledger = createPool({
    connectionString: store.pool.options.connectionString!,
    max: 2,
    applicationName: 'refract-admin-ledger',
  });
  app.addHook('onClose', async () => ledger.end());
  return reactors.map((reactor) => reactorProjection(reactor, ledger));
}
