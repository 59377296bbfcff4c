import { appendFigure } from './append-figure.js';
import { startHttpFloor } from './baselines/http-floor.js';
import { insertMultiRow } from './baselines/multi-row-insert.js';
import { insertSingleRows } from './baselines/single-row-insert.js';
import { resetLog, settle, verifyLog } from './event-log.js';
import { measured, type PhaseMeasurement } from './phase.js';
import type { BenchPlan } from './plan.js';
import { Progress, say } from './progress.js';
import {
  type AppendResults,
  attempt,
  type Failure,
  type ThroughputFigure,
} from './report-types.js';
import { runOrdered } from './run-ordered.js';
import { type RunningService, startWriteApi } from './services.js';
import type { BenchStack } from './stack.js';
import { type BenchEvent, chunkByStream, loadWorkload } from './workload.js';
import { type PreparedAppend, prepareAppend, WriteApiClient } from './write-api-client.js';
import { startGroupCommitStats } from './write-api-metrics.js';

/** Events sent before each measured HTTP phase, so the write API's code is warm (JIT, pools). */
const WARM_UP_EVENTS = 5_000;

/**
 * The append figures (issue 2): write-api as a process, appended to over
 * HTTP (a) in chunks of up to 100 events of one stream per request from a
 * few clients, (b) one event per request from 32 clients; each against a raw
 * INSERT baseline on a fresh log. Every phase is checked against the
 * workload before its number counts.
 */
export async function runAppend(
  stack: BenchStack,
  plan: BenchPlan,
  failures: Failure[],
): Promise<AppendResults> {
  const settings = plan.append;
  say('[append] preparing the workload and the request bodies');
  const events = loadWorkload(plan.n, settings.batchEvents, stack.partitions);
  const singleEvents = events.slice(0, settings.singleEvents);
  const batchRequests = chunkByStream(events, settings.batchMaxEvents).map(prepareAppend);
  const singleRequests = singleEvents.map((event) =>
    prepareAppend({ streamId: event.streamId, events: [event] }),
  );

  const sizes = { poolSize: settings.poolSize, bodyLimitBytes: settings.bodyLimitBytes };
  const writeApi = await startWriteApi(stack, {
    env: {
      WRITE_API_DB_POOL_SIZE: String(sizes.poolSize),
      WRITE_API_BODY_LIMIT_BYTES: String(sizes.bodyLimitBytes),
    },
  });
  say(`[append] write-api listening at ${writeApi.origin} (RELAY_MODE=off, LOG_LEVEL=warn)`);
  const results: AppendResults = {};
  let floor: RunningService | undefined;
  try {
    floor = await startHttpFloor(stack, sizes);
    say(`[append] the HTTP floor listening at ${floor.origin}`);
    const origins = { writeApi: writeApi.origin, floor: floor.origin };
    results.batch100 = await attempt('append.batch100', failures, () =>
      compare(stack, plan, origins, {
        phase: 'append.batch100',
        events,
        requests: batchRequests,
        clients: settings.batchClients,
        baseline: () =>
          insertMultiRow(stack.databaseUrl, events, {
            phase: 'append.batch100.baseline',
            rowsPerStatement: settings.rawRowsPerStatement,
            timeLimitMs: plan.phaseTimeoutMs,
          }),
        baselineStreamOrder: true,
        details: {
          eventsPerRequest: Math.round((events.length / batchRequests.length) * 10) / 10,
          baselineRowsPerStatement: settings.rawRowsPerStatement,
        },
      }),
    );
    results.single32 = await attempt('append.single32', failures, () =>
      compare(stack, plan, origins, {
        phase: 'append.single32',
        events: singleEvents,
        requests: singleRequests,
        clients: settings.singleClients,
        baseline: () =>
          insertSingleRows(stack.databaseUrl, singleEvents, {
            phase: 'append.single32.baseline',
            connections: settings.singleClients,
            timeLimitMs: plan.phaseTimeoutMs,
          }),
        // 32 connections draw positions in one order and commit in another.
        baselineStreamOrder: false,
        details: {},
      }),
    );
  } finally {
    await floor?.stop();
    await writeApi.stop();
  }
  return results;
}

interface Comparison {
  phase: string;
  events: readonly BenchEvent[];
  requests: readonly PreparedAppend[];
  clients: number;
  /** The raw baseline; returns its elapsed milliseconds. */
  baseline: () => Promise<number>;
  /** Whether the baseline keeps each stream's events in position order. */
  baselineStreamOrder: boolean;
  details: Record<string, unknown>;
}

/**
 * One append figure, each phase on a fresh log: the raw baseline; the HTTP
 * floor after a warm-up, with the same requests and clients; then write-api
 * after a warm-up.
 */
async function compare(
  stack: BenchStack,
  plan: BenchPlan,
  origins: { writeApi: string; floor: string },
  spec: Comparison,
): Promise<ThroughputFigure> {
  const { phase, events, requests, clients } = spec;
  const options = { clients, timeLimitMs: plan.phaseTimeoutMs };
  const baseline = await timedOnFreshLog(stack, `${phase}.baseline`, events, spec.baseline, {
    streamOrder: spec.baselineStreamOrder,
  });
  // A stream's requests wait for each other's answers, so the floor keeps stream order too.
  await warmUp(stack, origins.floor, requests, clients);
  const floorPhase = `${phase}.httpFloor`;
  const floor = await timedOnFreshLog(stack, floorPhase, events, () =>
    appendOverHttp(origins.floor, floorPhase, requests, options),
  );
  await warmUp(stack, origins.writeApi, requests, clients);
  const groupCommit = await startGroupCommitStats(origins.writeApi);
  const overHttp = await timedOnFreshLog(stack, phase, events, () =>
    appendOverHttp(origins.writeApi, phase, requests, options),
  );
  return appendFigure({
    events: events.length,
    requests: requests.length,
    measured: overHttp,
    baseline,
    floor,
    details: { groupCommit: await groupCommit(), clients, ...spec.details },
  });
}

/** Empties the log, settles Postgres, runs the phase (measured), then checks the log holds exactly `events`. */
async function timedOnFreshLog(
  stack: BenchStack,
  phase: string,
  events: readonly BenchEvent[],
  run: () => Promise<number>,
  { streamOrder }: { streamOrder: boolean } = { streamOrder: true },
): Promise<PhaseMeasurement> {
  await resetLog(stack.db);
  await settle(stack.db);
  const result = await measured(phase, run);
  await verifyLog(stack.db, phase, events, { streamOrder });
  say(`[${phase}] verified: ${events.length.toLocaleString('en-US')} events, each once, in place`);
  return result;
}

/**
 * Sends the requests with `clients` concurrent keep-alive connections, a
 * stream's requests one after the other (each carries the expected version,
 * so a reordering would be refused). Returns the elapsed milliseconds.
 */
async function appendOverHttp(
  origin: string,
  phase: string,
  requests: readonly PreparedAppend[],
  options: { clients: number; timeLimitMs: number },
): Promise<number> {
  const client = new WriteApiClient(origin, options.clients);
  const total = requests.reduce((sum, request) => sum + request.events, 0);
  const progress = new Progress(phase, total);
  try {
    const started = performance.now();
    await runOrdered({
      phase,
      items: requests,
      concurrency: options.clients,
      keyOf: (request) => request.streamId,
      run: async (request) => {
        await client.append(request);
      },
      onDone: (request) => progress.add(request.events),
      timeLimitMs: options.timeLimitMs,
    });
    const elapsed = performance.now() - started;
    progress.finish(`${requests.length.toLocaleString('en-US')} requests`);
    return elapsed;
  } catch (error) {
    progress.abort();
    throw error;
  } finally {
    await client.close();
  }
}

/**
 * The phase's first requests on an empty log, unmeasured, so the server's
 * code is warm; the measured phase empties the log again (timedOnFreshLog).
 */
async function warmUp(
  stack: BenchStack,
  origin: string,
  requests: readonly PreparedAppend[],
  clients: number,
): Promise<void> {
  await resetLog(stack.db);
  const first: PreparedAppend[] = [];
  for (let events = 0; first.length < requests.length && events < WARM_UP_EVENTS; ) {
    const request = requests[first.length]!;
    first.push(request);
    events += request.events;
  }
  await appendOverHttp(origin, 'warm-up', first, { clients, timeLimitMs: 60_000 });
}
