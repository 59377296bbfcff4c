import type { Metrics } from '@refract/observability';
import type { Relay } from './relay.js';

/**
 * The relay's metrics on a process's registry. Gauges read the relay's
 * status when scraped; the counters are fed by observing its published
 * rounds. The leader also reports how far it trails the log (its
 * `headPosition`); followers report 0, so `max()` over the processes of one
 * relay is the lag.
 */
export function relayMetrics(metrics: Metrics, relay: Relay): void {
  metrics.gauge({
    name: 'refract_relay_leader',
    help: '1 while this process holds relay leadership, else 0.',
    collect() {
      this.set(relay.status().leader ? 1 : 0);
    },
  });
  metrics.gauge({
    name: 'refract_relay_published_position',
    help: 'Every position up to this one is published to Redis (or was a final gap). Meaningful on the leader.',
    collect() {
      this.set(relay.status().publishedPosition);
    },
  });
  const head = metrics.gauge({
    name: 'refract_relay_head_position',
    help: 'The highest committed position in the log, read at scrape by the leader; 0 on followers.',
  });
  metrics.gauge({
    name: 'refract_relay_unpublished_events',
    help: 'Committed events the leader has not published yet (head minus published position); 0 on followers.',
    async collect() {
      const now = relay.status();
      if (!now.leader) {
        head.set(0);
        this.set(0);
        return;
      }
      try {
        const position = await relay.headPosition();
        head.set(position);
        this.set(Math.max(0, position - now.publishedPosition));
      } catch {
        // Postgres unreachable: keep the last values; the relay's own logs say why.
      }
    },
  });
  metrics.gauge({
    name: 'refract_relay_gap_held_seconds',
    help: 'How long the relay has been held by a gap (a position that may still commit); 0 when not held.',
    collect() {
      const held = relay.status().heldAt;
      this.set(held ? held.forMs / 1000 : 0);
    },
  });
  metrics.gauge({
    name: 'refract_relay_gap_position',
    help: 'The position the relay is held at (waiting for its transaction to end); 0 when not held.',
    collect() {
      this.set(relay.status().heldAt?.position ?? 0);
    },
  });
  metrics.gauge({
    name: 'refract_relay_redis_available',
    help: '0 while the relay cannot reach Redis (appends continue; publication resumes when it returns).',
    collect() {
      this.set(relay.status().redisAvailable ? 1 : 0);
    },
  });
  const published = metrics.counter({
    name: 'refract_relay_published_events_total',
    help: 'Events published to partition streams by this process.',
  });
  const duration = metrics.histogram({
    name: 'refract_relay_round_duration_seconds',
    help: 'Time of one read-publish-checkpoint round.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  relay.observePublished((events, durationMs) => {
    published.inc(events);
    duration.observe(durationMs / 1000);
  });
}
