import { loadStatements } from '@refract/event-store';

export const SQL = loadStatements(import.meta.url, {
  readAfter: 'read-after.sql',
  lastPositions: 'last-positions.sql',
  loadCheckpoint: 'load-checkpoint.sql',
  saveCheckpoint: 'save-checkpoint.sql',
  publishedPosition: 'published-position.sql',
  relayState: 'relay-state.sql',
});
