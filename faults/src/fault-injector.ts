import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '@refract/testing';
import type { Cluster, Links, Member } from './cluster.js';
import type { LoadGenerator } from './load-generator.js';
import type { PlannedFault } from './schedule.js';
import type { TcpProxy } from './tcp-proxy.js';

/** What a fault did, for the timeline printed with the seed. */
export type FaultReport = string;

/** What the faults found out along the way, asserted once the run is over. */
export interface FaultFindings {
  /** Times workers found the stream trimmed past them and read Postgres, after `stall-pool`. */
  windowFallbacks: number;
  /** Rebuilds that completed. */
  rebuildsCompleted: number;
  /** Of those, the ones whose rebuild worker (the admin process) and a projector worker were killed mid-run. */
  rebuildsResumed: number;
}

export interface InjectorOptions {
  leaseTtlMs: number;
  partitions: number;
  /** The relay's stream window (entries per partition). */
  windowSize: number;
  adminToken: string;
  findings: FaultFindings;
  /** The load generator, which appends the poison events in its streams' turn. */
  load: LoadGenerator;
}

/** Poison events per `poison-events` fault, each in a stream of its own. */
const POISON_PER_FAULT = 3;

/** What a worker logs when the entries it needs are gone from the stream and it reads Postgres instead. */
const STREAM_HOLE = 'hole in the partition stream';

/**
 * Applies one planned fault to the running cluster and brings it back the
 * way an orchestrator would (killed processes are restarted). Throws only
 * when the system fails to recover in a bounded time: that is a finding.
 */
export async function injectFault(
  cluster: Cluster,
  fault: PlannedFault,
  options: InjectorOptions,
): Promise<FaultReport> {
  switch (fault.kind) {
    case 'kill-worker': {
      const candidates = cluster.running(cluster.workers);
      if (candidates.length === 0) return 'skipped: every worker is restarting';
      const worker = pick(candidates, fault.target);
      await cluster.signal(worker, 'SIGKILL');
      cluster.restartLater(worker);
      return `SIGKILL ${worker.name}, restarting`;
    }
    case 'kill-relay-leader': {
      // A takeover needs the other write-api up.
      await cluster.settleRestarts(cluster.writeApis);
      const leader = await cluster.relayLeader(15_000);
      await cluster.signal(leader, 'SIGKILL');
      // The survivor takes over (its follower loop retries every second).
      const successor = await cluster.relayLeader(15_000);
      cluster.restartLater(leader);
      return `SIGKILL relay leader ${leader.name}; ${successor.name} took over; ${leader.name} restarting`;
    }
    case 'flush-redis':
      await cluster.flushRedis();
      return 'FLUSHALL';
    case 'restart-redis':
      await cluster.restartRedis(fault.downtimeMs);
      return `redis-server killed, restarted empty after ${fault.downtimeMs} ms`;
    case 'terminate-postgres-backends': {
      const terminated = await cluster.terminateBackends();
      return `pg_terminate_backend of ${terminated} sessions`;
    }
    case 'zombie-worker': {
      // Someone must be there to take its partitions over.
      if (cluster.running(cluster.workers).length < 2) await cluster.settleRestarts();
      const zombie = pick(cluster.running(cluster.workers), fault.target);
      await cluster.signal(zombie, 'SIGSTOP');
      try {
        await sleep(options.leaseTtlMs);
        await takenOver(cluster, zombie, options.partitions, options.leaseTtlMs * 10);
      } finally {
        await cluster.signal(zombie, 'SIGCONT');
      }
      return `SIGSTOP ${zombie.name} past its lease (the others took its partitions), SIGCONT`;
    }
    case 'restart-postgres': {
      const mode = fault.variant === 0 ? 'fast' : 'immediate';
      await cluster.postgres.restart(mode, fault.downtimeMs);
      return `Postgres stopped (${mode} shutdown), started again after ${fault.downtimeMs} ms`;
    }
    case 'network-latency': {
      const { backend, links, who } = networkScope(cluster, fault);
      const ms = 50 + Math.floor(fault.downtimeMs / 10);
      const lastsMs = 2000 + fault.downtimeMs;
      for (const link of links) link.set({ kind: 'latency', ms });
      await sleep(lastsMs);
      for (const link of links) link.set({ kind: 'pass' });
      return `${ms} ms added between ${who} and ${backend} for ${lastsMs} ms`;
    }
    case 'network-cut': {
      const { backend, links, who } = networkScope(cluster, fault);
      let cut = 0;
      for (const link of links) {
        link.set({ kind: 'refuse' });
        cut += link.cutAll();
      }
      await sleep(fault.downtimeMs);
      for (const link of links) link.set({ kind: 'pass' });
      return `cut ${cut} connections between ${who} and ${backend}, refused new ones for ${fault.downtimeMs} ms`;
    }
    case 'network-slow-close': {
      const { backend, links, who } = networkScope(cluster, fault);
      const silentMs = 1000 + fault.downtimeMs;
      const cut = await Promise.all(links.map((link) => link.slowClose(silentMs)));
      return `${backend} went silent to ${who} for ${silentMs} ms, then ${sum(cut)} connections were cut`;
    }
    case 'stall-pool':
      return stallPool(cluster, options);
    case 'rebuild':
      return rebuildWhileKilling(cluster, fault, options);
    case 'poison-events': {
      const stored = await options.load.poisonNext(POISON_PER_FAULT);
      return `poison events (unitPrice a JSON number) refused by the write API, stored through the store: ${stored.join(', ')}`;
    }
  }
}

/**
 * Where a network fault strikes: towards Postgres or Redis (the variant),
 * between it and every service, or one service alone (the others carry on,
 * e.g. a worker cut off from Redis loses its leases while its Postgres
 * still works).
 */
function networkScope(
  cluster: Cluster,
  fault: PlannedFault,
): { backend: keyof Links; links: TcpProxy[]; who: string } {
  const backend = fault.variant === 0 ? 'postgres' : 'redis';
  if (fault.target % 2 === 0) {
    return { backend, links: cluster.links(backend), who: 'every service' };
  }
  // query-api has no Redis connection to break.
  const users = cluster.members.filter((m) => backend === 'postgres' || m.kind !== 'query-api');
  const member = pick(users, fault.target >> 1);
  return { backend, links: [member.links[backend]], who: member.name };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * Stops every worker until the relay has published several windows' worth
 * of events per partition, so that the stream is trimmed past every
 * checkpoint; resumed, the workers must find the hole and read Postgres.
 */
async function stallPool(cluster: Cluster, options: InjectorOptions): Promise<FaultReport> {
  // A worker starting meanwhile would keep up with the stream on its own.
  await cluster.settleRestarts(cluster.workers);
  const workers = cluster.running(cluster.workers);
  const holesBefore = cluster.countInLogs(workers, STREAM_HOLE);
  const from = await cluster.headPosition();
  const target = from + 3 * options.windowSize * options.partitions;
  for (const worker of workers) await cluster.signal(worker, 'SIGSTOP');
  let reached: number;
  try {
    reached = await eventually(
      async () => {
        const head = await cluster.headPosition();
        if (head < target) throw new Error(`the log reached ${head} of ${target}`);
        return head;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    for (const worker of workers) await cluster.signal(worker, 'SIGCONT');
  }
  // Counted, not required here: the run asserts that some stall showed it.
  const holes = await eventually(
    async () => {
      const found = cluster.countInLogs(workers, STREAM_HOLE) - holesBefore;
      if (found === 0) throw new Error('no worker reported a hole yet');
      return found;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  ).catch(() => 0);
  options.findings.windowFallbacks += holes;
  return `SIGSTOP every worker while the log went from ${from} to ${reached}, SIGCONT; ${holes} stream holes read from Postgres`;
}

/**
 * Starts a rebuild of `customer_stats` (the read model that increments, so a
 * batch applied twice shows) through the admin API and, while it runs,
 * SIGKILLs a projector worker and the admin process that hosts the rebuild
 * worker. The job must be resumed (BullMQ's stalled check hands it back once
 * the dead process's lock expires: 30 s by default) and complete.
 */
async function rebuildWhileKilling(
  cluster: Cluster,
  fault: PlannedFault,
  options: InjectorOptions,
): Promise<FaultReport> {
  const adminMember = cluster.member('admin');
  // The admin restarted by the last rebuild fault must be back.
  await cluster.settleRestarts([adminMember]);
  const admin = cluster.origin(adminMember);
  const headers = { authorization: `Bearer ${options.adminToken}` };
  const requested = await fetch(`${admin}/api/projections/customer_stats/rebuild`, {
    method: 'POST',
    headers,
  });
  if (requested.status !== 202) {
    throw new Error(`the rebuild was refused: ${requested.status} ${await requested.text()}`);
  }
  const { jobId } = (await requested.json()) as { jobId: string };
  const jobState = (timeoutMs: number, done: (state: string | undefined) => boolean) =>
    eventually(
      async () => {
        const answer = await fetch(`${admin}/api/jobs/${jobId}`, {
          headers,
          signal: AbortSignal.timeout(2000),
        });
        const view = (await answer.json()) as {
          state?: string;
          error?: string;
          swapPauseMs?: number;
        };
        if (!done(view.state)) throw new Error(`job ${jobId} is ${view.state}`);
        return view;
      },
      { timeoutMs, intervalMs: 50 },
    );
  const terminal = (state: string | undefined) =>
    state === 'completed' || state === 'failed' || state === 'cancelled';
  const seen = await jobState(30_000, (state) => state === 'active' || terminal(state));
  const killed: string[] = [];
  if (seen.state === 'active') {
    const candidates = cluster.running(cluster.workers);
    if (candidates.length > 0) killed.push(pick(candidates, fault.target).name);
    killed.push(adminMember.name);
    for (const name of killed) {
      const member = cluster.members.find((m) => m.name === name)!;
      await cluster.signal(member, 'SIGKILL');
      cluster.restartLater(member);
    }
    options.findings.rebuildsResumed += 1;
  }
  const job = await jobState(120_000, terminal);
  if (job.state !== 'completed') {
    throw new Error(`rebuild job ${jobId} ended ${job.state}: ${job.error}`);
  }
  options.findings.rebuildsCompleted += 1;
  const during =
    killed.length > 0
      ? `SIGKILL ${killed.join(' and ')} while it ran (restarting); it resumed and `
      : 'it finished before anything was killed; it ';
  return `rebuild ${jobId} of customer_stats: ${during}completed (swap pause ${Math.round(job.swapPauseMs ?? 0)} ms)`;
}
function pick(members: Member[], target: number): Member {
  return members[target % members.length]!;
}

/** Waits until the workers other than `zombie` own every partition between them. */
async function takenOver(
  cluster: Cluster,
  zombie: Member,
  partitions: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const owned = new Set<number>();
    for (const worker of cluster.running(cluster.workers)) {
      if (worker === zombie) continue;
      for (const partition of await cluster.partitionsOf(worker)) owned.add(partition);
    }
    if (owned.size === partitions) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the partitions of stopped ${zombie.name} were not taken over within ${timeoutMs} ms (${owned.size}/${partitions} owned)`,
      );
    }
    await sleep(100);
  }
}
