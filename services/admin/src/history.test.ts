import { createLogger } from '@refract/observability';
import { collectLines, eventually } from '@refract/testing';
import { describe, expect, it } from 'vitest';
import { OverviewHistory } from './history.js';
import type { ProjectionView } from './overview.js';

const logger = createLogger({ service: 'history-test', level: 'silent' });

function view(name: string, lagEvents: number): ProjectionView {
  return {
    name,
    version: 1,
    pool: 'p',
    status: 'running',
    headPosition: 0,
    lagEvents,
    lagSeconds: lagEvents / 10,
    eventsPerSecond: 5,
    parked: 1,
    stalled: false,
    stalledSeconds: 0,
    partitions: [],
    rebuild: null,
    tripped: null,
    quarantinedStreams: 0,
    topErrors: [],
  };
}

describe('OverviewHistory', () => {
  it('keeps windowMs / intervalMs samples in a ring, oldest first, each projection’s figures', () => {
    const history = new OverviewHistory({
      read: async () => [],
      intervalMs: 5000,
      windowMs: 15 * 60_000,
      log: logger,
    });
    const start = 1_000_000_000;
    // 200 samples into a ring of 180: the first 20 are gone, the rest in order.
    for (let i = 0; i < 200; i++) history.record([view('a', i)], start + i * 5000);
    const shown = history.view(start + 199 * 5000);
    expect(shown.samples).toHaveLength(180);
    expect(shown.samples[0]).toEqual({
      at: start + 20 * 5000,
      projections: [{ name: 'a', lagEvents: 20, lagSeconds: 2, eventsPerSecond: 5, parked: 1 }],
    });
    expect(shown.samples.map((s) => s.projections[0]!.lagEvents)).toEqual(
      Array.from({ length: 180 }, (_, i) => i + 20),
    );
    expect(shown).toMatchObject({ intervalMs: 5000, windowMs: 900_000 });
  });

  it('leaves out samples older than the window, however few were taken', () => {
    const history = new OverviewHistory({
      read: async () => [],
      intervalMs: 1000,
      windowMs: 10_000,
      log: logger,
    });
    history.record([view('a', 1)], 0);
    history.record([view('a', 2)], 9_000);
    expect(history.view(12_000).samples.map((s) => s.at)).toEqual([9_000]);
  });

  it('samples on its timer, and a failed read is a gap logged once per outage', async () => {
    const { lines, stream } = collectLines();
    let failing = true;
    let reads = 0;
    const history = new OverviewHistory({
      read: async () => {
        reads += 1;
        if (failing) throw new Error('postgres is down');
        return [view('a', reads)];
      },
      intervalMs: 20,
      windowMs: 60_000,
      log: createLogger({ service: 'history-test', destination: stream }),
    });
    history.start();
    try {
      await eventually(() => expect(reads).toBeGreaterThanOrEqual(3));
      expect(history.view().samples).toEqual([]);
      failing = false;
      await eventually(() => expect(history.view().samples.length).toBeGreaterThanOrEqual(2));
    } finally {
      history.close();
    }
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(['history sample failed; a gap', 'history sampling works again']);
  });
});
