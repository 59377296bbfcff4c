import { describe, expect, it } from 'vitest';
import type { ProjectionInfo } from './admin-types.js';
import {
  formatDuration,
  formatHeartbeat,
  formatJobLine,
  formatPartitionList,
  formatProjections,
  formatRate,
  formatRelay,
  formatTable,
  formatTrips,
} from './format.js';

const projection = (over: Partial<ProjectionInfo> = {}): ProjectionInfo => ({
  name: 'customer_stats',
  version: 2,
  pool: 'orders',
  status: 'running',
  headPosition: 1500,
  lagEvents: 1234,
  lagSeconds: 0.42,
  eventsPerSecond: 57.25,
  parked: 1,
  stalled: false,
  stalledSeconds: 0,
  partitions: [
    { partition: 0, checkpoint: 10, owner: 'w1', lagEvents: 4 },
    { partition: 1, checkpoint: 5, owner: null, lagEvents: 7 },
    { partition: 2, checkpoint: 9, owner: null, lagEvents: 0 },
  ],
  rebuild: null,
  ...over,
});

describe('formatting', () => {
  it('aligns columns, numbers to the right', () => {
    expect(
      formatTable(
        ['NAME', 'N'],
        [
          ['a', '5'],
          ['long-name', '1,234'],
        ],
      ),
    ).toBe(['NAME           N', 'a              5', 'long-name  1,234'].join('\n'));
  });

  it('shows a tripped projection with its reason, top errors by message and the way out', () => {
    const text = formatTrips([
      projection(),
      projection({
        name: 'order_summary',
        status: 'tripped',
        tripped: { at: '2026-12-06T03:00:00.000Z', reason: 'more than 100 events parked' },
        quarantinedStreams: 40,
        topErrors: [
          { message: 'unitPrice must be\na decimal string', events: 1200 },
          { message: 'boom', events: 3 },
        ],
      }),
    ]);
    expect(text.split('\n')).toEqual([
      'TRIPPED order_summary: more than 100 events parked since 2026-12-06T03:00:00.000Z; 40 streams quarantined',
      '  1,200 × unitPrice must be a decimal string',
      '  3 × boom',
      '  fix the handler, then: refract resume order_summary',
    ]);
    expect(formatTrips([projection()])).toBe('');
  });

  it('shows the projection table with lag, rate, parked, stalled and a rebuild', () => {
    const text = formatProjections([
      projection(),
      projection({
        name: 'order_summary',
        status: 'rebuilding',
        lagSeconds: null,
        eventsPerSecond: null,
        stalled: true,
        stalledSeconds: 42,
        rebuild: {
          jobId: '17',
          state: 'active',
          processed: 4000,
          total: 16000,
          eventsPerSecond: 8000,
          etaSeconds: 1.5,
        },
      }),
    ]);
    const [header, first, second] = text.split('\n');
    expect(header).toMatch(
      /^PROJECTION\s+VERSION\s+POOL\s+STATUS\s+LAG\s+LAG \(s\)\s+EVENTS\/S\s+PARKED\s+STALLED\s+REBUILD$/,
    );
    expect(first).toMatch(
      /^customer_stats\s+2\s+orders\s+running\s+1,234\s+0.4\s+57.3\s+1\s+-\s+-$/,
    );
    expect(second).toMatch(/rebuilding\s+1,234\s+-\s+-\s+1\s+42s\s+25% \(job 17\)$/);
    expect(formatProjections([])).toBe('no projections registered');
  });

  it('formats durations, rates, heartbeats and partition ranges', () => {
    expect(formatDuration(45.4)).toBe('45s');
    expect(formatDuration(187)).toBe('3m 07s');
    expect(formatDuration(7500)).toBe('2h 05m');
    expect(formatDuration(null)).toBe('-');
    expect(formatRate(0.44)).toBe('0.4');
    expect(formatRate(12400)).toBe('12,400');
    expect(formatRate(0)).toBe('0');
    const now = Date.parse('2026-01-01T00:00:10Z');
    expect(formatHeartbeat('2026-01-01T00:00:09.2Z', now)).toBe('0.8s ago');
    expect(formatHeartbeat(now - 125_000, now)).toBe('2m 05s ago');
    expect(formatHeartbeat('yesterday', now)).toBe('yesterday');
    expect(formatPartitionList([9, 0, 1, 2, 3, 7, 10, 11])).toBe('0-3,7,9-11');
    expect(formatPartitionList([])).toBe('-');
  });

  it('formats the relay and a job line with its error', () => {
    expect(
      formatRelay({
        leader: {
          pid: 77,
          application: 'refract-relay-main',
          address: '10.0.0.5',
          connectedAt: 't',
        },
        publishedPosition: 1200,
        headPosition: 1234,
        lagEvents: 34,
        heldAt: { position: 1201, sinceSeconds: 3 },
      }),
    ).toBe(
      'relay: leader pid 77 at 10.0.0.5, published 1,200 of head 1,234 (lag 34 events); ' +
        'waiting 3s on position 1,201 (a transaction may still commit it)',
    );
    expect(
      formatRelay({
        leader: null,
        publishedPosition: 0,
        headPosition: 5,
        lagEvents: 5,
        heldAt: null,
      }),
    ).toContain('leader none');
    expect(
      formatJobLine({
        jobId: '17',
        projection: 'customer_stats',
        state: 'failed',
        processed: 4000,
        total: 16000,
        eventsPerSecond: 8000,
        etaSeconds: null,
        error: 'boom',
      }),
    ).toBe('job 17  customer_stats  failed  4,000/16,000 (25%)  8,000 ev/s  ETA -\n  error: boom');
  });
});
