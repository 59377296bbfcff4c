import { z } from 'zod';
import { errorBody, integerText } from './common.js';

/** Projection names as core's defineProjection allows them. */
const PROJECTION_NAME = /^[a-z][a-z0-9_]{0,40}$/;
/** BullMQ job ids as the rebuild queue makes them. */
const JOB_ID = /^[A-Za-z0-9:_.-]{1,128}$/;
/**
 * A parked event's id, within what a JavaScript number holds exactly: a
 * row's bigserial, or minus the position of an event held behind one.
 */
const PARKED_ID = /^-?[1-9][0-9]{0,14}$/;

export const projectionName = z.string().regex(PROJECTION_NAME, `must match ${PROJECTION_NAME}`);
export const jobId = z.string().regex(JOB_ID, `must match ${JOB_ID}`);
export const parkedId = z
  .string()
  .regex(PARKED_ID, 'must be a parked event id (a non-zero integer)')
  .transform(Number);

export const nameParams = z.strictObject({ name: projectionName });
export const parkedParams = z.strictObject({ name: projectionName, id: parkedId });
export const jobParams = z.strictObject({ jobId });

const rebuildState = z.enum(['waiting', 'active', 'verifying', 'completed', 'failed', 'cancelled']);

/** What a rebuild may change without an approval: anything, or these columns (`table.column` or `column`), or counters of a counter projection. */
export const expectChanges = z.union([
  z.strictObject({ any: z.literal(true) }),
  z.strictObject({
    columns: z
      .array(
        z
          .string()
          .regex(
            /^([a-z][a-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/,
            'must be a column or table.column (a counter, for counter projections)',
          ),
      )
      .max(200),
  }),
]);

export const rebuildBody = z
  .strictObject({
    /** `"any"`, or the columns allowed to differ; omitted: none. */
    expectChanges: z.union([z.literal('any'), expectChanges.options[1].shape.columns]).optional(),
  })
  // A POST without a body reaches the schema as null: nothing declared.
  .nullish();

const sideFigures = z.object({ rows: z.int(), checksum: z.string() });
const row = z.record(z.string(), z.unknown());

/** The comparison of v+1 with the live v a rebuild makes before its swap. */
export const cutoverReport = z.object({
  liveVersion: z.int(),
  version: z.int(),
  comparedAt: z.string(),
  expectChanges,
  verdict: z.enum(['identical', 'expected', 'unexpected']),
  tables: z.array(
    z.object({
      table: z.string(),
      key: z.array(z.string()),
      columns: z.array(z.string()),
      rows: z.object({ live: z.int(), next: z.int() }),
      partitions: z.array(z.object({ partition: z.int(), live: sideFigures, next: sideFigures })),
      onlyLive: z.array(z.string()),
      onlyNext: z.array(z.string()),
      differing: z.int(),
      unexpected: z.int(),
      first: z.array(z.object({ key: row, live: row.nullable(), next: row.nullable() })),
    }),
  ),
});

export const rebuildSummary = z.object({
  jobId: z.string(),
  state: rebuildState,
  processed: z.number(),
  total: z.number(),
  eventsPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
});

/** A reactor's effects as its ledger counts them. */
export const effectCounts = z.object({
  /** Effects done. */
  delivered: z.int(),
  /** Done at the first attempt. */
  exactlyOnce: z.int(),
  /** Done after more than one attempt (a crash or a retry during the call): maybe delivered twice. */
  atLeastOnce: z.int(),
  /** Attempted, not done: in flight, failing or parked. */
  pending: z.int(),
});

export const partitionView = z.object({
  partition: z.int(),
  checkpoint: z.int(),
  owner: z.string().nullable(),
  lagEvents: z.number(),
  lagEstimated: z.boolean(),
  lagSeconds: z.number(),
  halted: z.boolean(),
  stalledSeconds: z.number(),
});

export const projectionView = z.object({
  name: z.string(),
  version: z.int(),
  pool: z.string(),
  status: z.enum(['running', 'paused', 'rebuilding', 'halted', 'tripped']),
  headPosition: z.int(),
  lagEvents: z.number(),
  lagSeconds: z.number(),
  eventsPerSecond: z.number(),
  parked: z.int(),
  stalled: z.boolean(),
  stalledSeconds: z.number(),
  partitions: z.array(partitionView),
  rebuild: rebuildSummary.nullable(),
  /** Set while its breaker is tripped (too many parked events): when (ISO 8601) and why. */
  tripped: z.object({ at: z.string(), reason: z.string() }).nullable(),
  /** Streams with open parked events: their later events wait parked behind the first. */
  quarantinedStreams: z.int(),
  /** The most frequent errors of its open parked events, grouped by message. */
  topErrors: z.array(z.object({ message: z.string(), events: z.int() })),
  /** Set for a reactor (a consumer calling the outside world): its effects so far. */
  reactor: effectCounts.optional(),
});

export const reactorView = effectCounts.extend({ name: z.string(), pool: z.string() });

/** `from`: the first log position to handle again (0: the whole log). */
export const replayBody = z.strictObject({ from: z.int().min(0).max(Number.MAX_SAFE_INTEGER) });

export const replayResult = z.object({
  name: z.string(),
  from: z.int(),
  /** The partitions whose checkpoint moved back (none when all were already before `from`). */
  partitions: z.array(z.int()),
});

export const pauseResult = z.object({
  name: z.string(),
  pool: z.string(),
  version: z.int(),
  paused: z.boolean(),
});

export const parkedEvent = z.object({
  /** A row's id; minus its position for an event held behind its stream's parked event. */
  id: z.int(),
  projection: z.string(),
  version: z.int(),
  partition: z.int(),
  position: z.int(),
  streamId: z.string(),
  eventType: z.string(),
  error: z.string(),
  attempts: z.int(),
  /** ISO 8601. */
  parkedAt: z.string(),
  resolution: z.enum(['retried', 'skipped']).nullable(),
  resolvedAt: z.string().nullable(),
  /** The position of the parked event of its stream it waits behind; null when it failed itself. */
  behind: z.int().nullable(),
});

export const quarantinedStream = z.object({
  streamId: z.string(),
  version: z.int(),
  partition: z.int(),
  /** Open parked events in order: the first failed, the rest wait behind it. */
  events: z.array(parkedEvent),
});

export const parkedStreamsQuery = z.strictObject({
  /** The `next` of the previous page. */
  after: z.string().max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export const parkedStreamsPage = z.object({
  streams: z.array(quarantinedStream),
  /** The cursor of the next page; null on the last. */
  next: z.string().nullable(),
});

export const retryAllResult = z.object({
  streams: z.int(),
  applied: z.int(),
  /** Streams whose first parked event failed again: still quarantined. */
  failed: z.array(z.object({ streamId: z.string(), error: z.string() })),
});

export const skipStreamBody = z.strictObject({ streamId: z.string().min(1).max(1000) });

export const rebuildShare = z.object({
  share: z.int(),
  partitions: z.array(z.int()),
  /** The rebuild worker that ran it. */
  worker: z.string(),
  /** Events it applied in its last run. */
  applied: z.number(),
});

export const rebuildJob = z.object({
  jobId: z.string(),
  projection: z.string(),
  state: rebuildState,
  processed: z.number(),
  total: z.number(),
  eventsPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  error: z.string().optional(),
  targetVersion: z.int().optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  swapPauseMs: z.number().optional(),
  cancelRequested: z.boolean(),
  shares: z.array(rebuildShare),
  expectChanges,
  cutoverReport: cutoverReport.nullable(),
  approved: z.boolean(),
});

export const workerView = z.object({
  id: z.string(),
  pool: z.string(),
  host: z.string().nullable(),
  pid: z.int().nullable(),
  partitions: z.array(z.int()),
  lastHeartbeat: z.string().nullable(),
});

export const relayView = z.object({
  name: z.string(),
  leader: z
    .object({
      pid: z.int(),
      application: z.string().nullable(),
      address: z.string().nullable(),
      connectedAt: z.string(),
    })
    .nullable(),
  publishedPosition: z.int(),
  headPosition: z.int(),
  lagEvents: z.number(),
  heldAt: z.object({ position: z.int(), sinceSeconds: z.number() }).nullable(),
});

/** One projection's figures in one sample of admin's history. */
export const historyPoint = z.object({
  name: z.string(),
  lagEvents: z.number(),
  lagSeconds: z.number(),
  eventsPerSecond: z.number(),
  parked: z.int(),
});

/** What admin kept of the last minutes: one sample per interval, oldest first. */
export const historyView = z.object({
  /** Admin's clock when it answered (epoch ms), so a page can line its own clock up. */
  now: z.number(),
  intervalMs: z.int(),
  windowMs: z.int(),
  samples: z.array(z.object({ at: z.number(), projections: z.array(historyPoint) })),
});

/** Most rebuilds `/api/rebuilds` lists. */
export const MAX_RECENT_REBUILDS = 100;
export const recentRebuildsQuery = z.strictObject({
  limit: integerText({ min: 1, max: MAX_RECENT_REBUILDS }).optional(),
});

/** One partition's completeness audit: events of handled types at or below its checkpoint neither applied nor parked. */
export const partitionAudit = z.object({
  partition: z.int(),
  checkpoint: z.int(),
  /** 0: complete; negative: more counted as applied than the log holds. */
  missing: z.int(),
  /** The checkpoint at the last audit that found the partition complete (0: none); what is missing lies after it. */
  since: z.int(),
});

/** `full=true`: count the whole log since the applied count started, not only what came after the last complete audit. */
export const auditQuery = z.strictObject({
  full: z.enum(['true', 'false'], 'must be true or false').optional(),
});

/** A projection version's latest completeness audit: `complete`, or `missing` events since position `since`. */
export const projectionAudit = z.object({
  projection: z.string(),
  version: z.int(),
  complete: z.boolean(),
  missing: z.int(),
  since: z.int(),
  /** ISO 8601; null before the first audit (a baseline only). */
  auditedAt: z.string().nullable(),
  partitions: z.array(partitionAudit),
});

/** The answers every protected admin route can give besides its own. */
const guarded = { 400: errorBody, 401: errorBody, 403: errorBody };
const onProjection = { ...guarded, 404: errorBody };

/** Each admin route's schemas. */
export const adminRoutes = {
  projections: {
    method: 'GET',
    url: '/api/projections',
    schema: { response: { 200: z.array(projectionView), ...guarded } },
  },
  pause: {
    method: 'POST',
    url: '/api/projections/:name/pause',
    schema: { params: nameParams, response: { 200: pauseResult, ...onProjection } },
  },
  resume: {
    method: 'POST',
    url: '/api/projections/:name/resume',
    schema: {
      params: nameParams,
      response: {
        200: pauseResult.extend({ retried: retryAllResult.nullable().optional() }),
        ...onProjection,
      },
    },
  },
  parkedStreams: {
    method: 'GET',
    url: '/api/projections/:name/parked/streams',
    schema: {
      params: nameParams,
      querystring: parkedStreamsQuery,
      response: { 200: parkedStreamsPage, ...onProjection },
    },
  },
  retryAllParked: {
    method: 'POST',
    url: '/api/projections/:name/parked/retry',
    schema: { params: nameParams, response: { 200: retryAllResult, ...onProjection } },
  },
  skipParkedStream: {
    method: 'POST',
    url: '/api/projections/:name/parked/skip',
    schema: {
      params: nameParams,
      body: skipStreamBody,
      response: { 200: parkedEvent, ...onProjection, 409: errorBody },
    },
  },
  parked: {
    method: 'GET',
    url: '/api/projections/:name/parked',
    schema: { params: nameParams, response: { 200: z.array(parkedEvent), ...onProjection } },
  },
  retryParked: {
    method: 'POST',
    url: '/api/projections/:name/parked/:id/retry',
    schema: {
      params: parkedParams,
      response: { 200: parkedEvent, ...onProjection, 409: errorBody },
    },
  },
  skipParked: {
    method: 'POST',
    url: '/api/projections/:name/parked/:id/skip',
    schema: {
      params: parkedParams,
      response: { 200: parkedEvent, ...onProjection, 409: errorBody },
    },
  },
  reactors: {
    method: 'GET',
    url: '/api/reactors',
    schema: { response: { 200: z.array(reactorView), ...guarded } },
  },
  replayReactor: {
    method: 'POST',
    url: '/api/reactors/:name/replay',
    schema: {
      params: nameParams,
      body: replayBody,
      response: { 200: replayResult, ...onProjection },
    },
  },
  rebuild: {
    method: 'POST',
    url: '/api/projections/:name/rebuild',
    schema: {
      params: nameParams,
      body: rebuildBody,
      response: { 202: z.object({ jobId: z.string() }), ...onProjection, 409: errorBody },
    },
  },
  job: {
    method: 'GET',
    url: '/api/jobs/:jobId',
    schema: { params: jobParams, response: { 200: rebuildJob, ...onProjection } },
  },
  approveJob: {
    method: 'POST',
    url: '/api/jobs/:jobId/approve',
    schema: { params: jobParams, response: { 200: rebuildJob, ...onProjection, 409: errorBody } },
  },
  cancelJob: {
    method: 'DELETE',
    url: '/api/jobs/:jobId',
    schema: { params: jobParams, response: { 200: rebuildJob, ...onProjection } },
  },
  recentRebuilds: {
    method: 'GET',
    url: '/api/rebuilds',
    schema: {
      querystring: recentRebuildsQuery,
      response: { 200: z.array(rebuildJob), ...guarded },
    },
  },
  audits: {
    method: 'GET',
    url: '/api/audits',
    schema: { response: { 200: z.array(projectionAudit), ...guarded } },
  },
  audit: {
    method: 'POST',
    url: '/api/projections/:name/audit',
    schema: {
      params: nameParams,
      querystring: auditQuery,
      response: { 200: projectionAudit, ...onProjection },
    },
  },
  history: {
    method: 'GET',
    url: '/api/history',
    schema: { response: { 200: historyView, ...guarded } },
  },
  workers: {
    method: 'GET',
    url: '/api/workers',
    schema: { response: { 200: z.array(workerView), ...guarded, 503: errorBody } },
  },
  relay: {
    method: 'GET',
    url: '/api/relay',
    schema: { response: { 200: relayView, ...guarded } },
  },
} as const;

export type ProjectionView = z.output<typeof projectionView>;
export type ParkedEvent = z.output<typeof parkedEvent>;
export type ParkedStreamsPage = z.output<typeof parkedStreamsPage>;
export type RetryAllResult = z.output<typeof retryAllResult>;
export type RebuildJob = z.output<typeof rebuildJob>;
export type CutoverReport = z.output<typeof cutoverReport>;
export type ReactorView = z.output<typeof reactorView>;
export type ReplayResult = z.output<typeof replayResult>;
export type WorkerView = z.output<typeof workerView>;
export type HistoryView = z.output<typeof historyView>;
export type ProjectionAuditView = z.output<typeof projectionAudit>;
export type RelayView = z.output<typeof relayView>;
