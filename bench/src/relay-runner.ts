import { createLogger } from '@refract/observability';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import type pg from 'pg';
import type { RelayChoice } from './plan.js';
import { relayServiceExists, startRelayService } from './services.js';
import { SQL } from './sql.js';
import type { BenchStack } from './stack.js';

export type RelayKind = 'service' | 'in-process';

/** Both the service and an in-process Relay run under the default name. */
const RELAY_NAME = 'main';
const LEAD_TIMEOUT_MS = 60_000;

export interface RunningRelay {
  kind: RelayKind;
  stop(): Promise<void>;
}

/** `auto`: the standalone service where the repository has it, else the Relay class in this process. */
export function resolveRelayKind(choice: RelayChoice): RelayKind {
  if (choice === 'auto') return relayServiceExists() ? 'service' : 'in-process';
  if (choice === 'service' && !relayServiceExists()) {
    throw new Error('--relay service: services/relay/src/main.ts does not exist');
  }
  return choice;
}

/** The relay's checkpoint, or null before a relay first led on this database. */
export async function relayCheckpoint(db: pg.Pool): Promise<number | null> {
  const result = await db.query<{ position: number }>(SQL.relayCheckpoint, [RELAY_NAME]);
  return result.rows[0]?.position ?? null;
}

/**
 * Starts a relay publishing under `keyPrefix` and resolves once it leads:
 * its checkpoint row exists (a leader creates it before its first read).
 * The caller must have removed the previous relay's checkpoint row.
 */
export async function startRelay(
  stack: BenchStack,
  kind: RelayKind,
  keyPrefix: string,
): Promise<RunningRelay> {
  const leads = async () => (await relayCheckpoint(stack.db)) !== null;
  if (kind === 'service') {
    const service = await startRelayService(stack, keyPrefix, leads);
    return { kind, stop: service.stop };
  }
  const redis = createRedisClient(stack.redisUrl, { name: 'refract-bench-relay' });
  const relay = new Relay({
    databaseUrl: stack.databaseUrl,
    redis,
    keyPrefix,
    name: RELAY_NAME,
    // Info shows leadership and skipped (final) gaps: a few lines, and the ones that explain a failure.
    logger: createLogger({ service: 'relay', level: 'info', destination: process.stderr }),
  });
  const stop = stack.defer('stopping the in-process relay', async () => {
    await relay.close();
    redis.disconnect();
  });
  relay.start();
  const deadline = performance.now() + LEAD_TIMEOUT_MS;
  while (!(await leads())) {
    if (performance.now() > deadline) throw new Error('the in-process relay did not lead in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { kind, stop };
}
