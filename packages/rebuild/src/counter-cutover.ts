import { createHash } from 'node:crypto';
import type { CounterProjection } from '@refract/core';
import { type RedisClient, readPartitionCounters } from '@refract/stream-bus';
import {
  type CutoverReport,
  type ExpectChanges,
  expected,
  type PartitionChecksum,
} from './cutover.js';

/**
 * Compares a counter projection's v+1 with the live v, both frozen or caught
 * up to the same checkpoints (see swapCounters): each partition's hash of
 * either version is read once (a handful of fields, no scan), the compared
 * counters summed into a per-partition checksum, and a counter differs when
 * its value differs on any partition (a missing counter reads as 0). The report has the tables' shape: one
 * entry named after the projection, keyed by `counter`, whose differing
 * "rows" are counters with their totals over every partition (null when a
 * version lacks the counter).
 */
export async function compareCounterVersions(options: {
  redis: RedisClient;
  keyPrefix: string;
  projection: CounterProjection;
  live: number;
  version: number;
  partitions: number;
  expectChanges: ExpectChanges;
  maxKeys?: number;
}): Promise<CutoverReport> {
  const { redis, keyPrefix, projection, live, version, expectChanges } = options;
  const sides: { live: Record<string, number>; next: Record<string, number> }[] = [];
  for (let p = 0; p < options.partitions; p++) {
    sides.push({
      live: await readPartitionCounters(redis, keyPrefix, projection.name, live, p),
      next: await readPartitionCounters(redis, keyPrefix, projection.name, version, p),
    });
  }
  const seen = new Set(sides.flatMap((s) => [...Object.keys(s.live), ...Object.keys(s.next)]));
  const counters = [...(projection.compare?.counters ?? seen)].sort();
  // A counter a hash lacks reads as 0 (HINCRBY starts there), so a field a
  // batch moved by 0 in one version only is no difference.
  const figures = (hash: Record<string, number>) => {
    const present = counters.filter((c) => (hash[c] ?? 0) !== 0);
    const text = present.map((c) => `${c}=${hash[c]}`).join('\n');
    return { rows: present.length, checksum: createHash('md5').update(text).digest('hex') };
  };
  const partitions: PartitionChecksum[] = sides.map((s, partition) => ({
    partition,
    live: figures(s.live),
    next: figures(s.next),
  }));
  const differing = counters.filter((c) =>
    sides.some((s) => (s.live[c] ?? 0) !== (s.next[c] ?? 0)),
  );
  const allowed = 'any' in expectChanges ? null : expected(expectChanges, projection.name);
  const unexpected = allowed ? differing.filter((c) => !allowed.includes(c)) : [];
  const total = (side: 'live' | 'next', counter: string) => {
    const values = sides.flatMap((s) => (counter in s[side] ? [s[side][counter]!] : []));
    return values.length ? { value: values.reduce((a, b) => a + b, 0) } : null;
  };
  return {
    liveVersion: live,
    version,
    comparedAt: new Date().toISOString(),
    expectChanges,
    verdict: unexpected.length ? 'unexpected' : differing.length ? 'expected' : 'identical',
    tables: [
      {
        table: projection.name,
        key: ['counter'],
        columns: counters,
        rows: {
          live: counters.filter((c) => total('live', c)).length,
          next: counters.filter((c) => total('next', c)).length,
        },
        partitions,
        onlyLive: [],
        onlyNext: [],
        differing: differing.length,
        unexpected: unexpected.length,
        first: differing.slice(0, options.maxKeys ?? 20).map((counter) => ({
          key: { counter },
          live: total('live', counter),
          next: total('next', counter),
        })),
      },
    ],
  };
}
