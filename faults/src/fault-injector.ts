import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Member } from './cluster.js';
import type { PlannedFault } from './schedule.js';

/** What a fault did, for the timeline printed with the seed. */
export type FaultReport = string;

/**
 * Applies one planned fault to the running cluster and brings it back the
 * way an orchestrator would (killed processes are restarted). Throws only
 * when the system fails to recover in a bounded time: that is a finding.
 */
export async function injectFault(
  cluster: Cluster,
  fault: PlannedFault,
  options: { leaseTtlMs: number; partitions: number },
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
      await cluster.redis.kill();
      await sleep(fault.downtimeMs);
      await cluster.redis.restart();
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
  }
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
