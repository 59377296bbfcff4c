import { loadStatements } from '@refract/event-store';

export const SQL = loadStatements(import.meta.url, {
  insertRebuild: 'insert-rebuild.sql',
  runningRebuild: 'running-rebuild.sql',
  getRebuild: 'get-rebuild.sql',
  recentRebuilds: 'recent-rebuilds.sql',
  startRebuild: 'start-rebuild.sql',
  addProgress: 'add-progress.sql',
  finishRebuild: 'finish-rebuild.sql',
  requestCancel: 'request-cancel.sql',
  addShare: 'add-share.sql',
  countHandled: 'count-handled.sql',
  liveBehind: 'live-behind.sql',
  liveCountersBehind: 'live-counters-behind.sql',
  holdRebuild: 'hold-rebuild.sql',
  approveRebuild: 'approve-rebuild.sql',
  recordReport: 'record-report.sql',
});
