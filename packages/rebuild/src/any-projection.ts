import { type AnyProjection, isCounterProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import {
  type CounterStore,
  dropCounterVersion,
  rebuildCounterProjection,
} from './counter-rebuild.js';
import {
  dropVersion,
  type RebuildOptions,
  type RebuildResult,
  rebuildProjection,
} from './rebuild.js';

export type AnyRebuildOptions = Omit<RebuildOptions, 'projection'> & {
  projection: AnyProjection;
  /** The workers' Redis and key prefix; required to rebuild a counter projection. */
  counters?: CounterStore;
};

/** Rebuilds a table projection (rebuild.ts) or a counter projection (counter-rebuild.ts). */
export function rebuildAnyProjection(options: AnyRebuildOptions): Promise<RebuildResult> {
  const { projection } = options;
  if (isCounterProjection(projection)) {
    return rebuildCounterProjection({ ...options, projection, counters: need(options.counters) });
  }
  return rebuildProjection({ ...options, projection });
}

/** Drops a version that is not live, of a table or a counter projection. */
export function dropAnyVersion(
  store: EventStore,
  projection: AnyProjection,
  version: number,
  counters?: CounterStore,
): Promise<void> {
  if (isCounterProjection(projection)) {
    return dropCounterVersion(store, projection, version, need(counters));
  }
  return dropVersion(store, projection, version);
}

function need(counters: CounterStore | undefined): CounterStore {
  if (!counters) throw new Error('counter projections need a Redis connection (counters)');
  return counters;
}
