export { type Gap, type Plan, planPublication, type VisibleEvent } from './plan.js';
export { readPublishedPosition } from './published-position.js';
export { Relay, type RelayOptions, type RelayStatus } from './relay.js';
export { relayMetrics } from './relay-metrics.js';
export { type RelayLeader, type RelayState, readRelayState } from './relay-state.js';
export { parseSnapshot, type SnapshotBounds } from './snapshot.js';
