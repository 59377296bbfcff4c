import { readFileSync } from 'node:fs';

const load = (name: string) => readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');

export const SQL = {
  lockLiveCheckpoints: load('lock-live-checkpoints'),
  insertRebuild: load('insert-rebuild'),
  runningRebuild: load('running-rebuild'),
  getRebuild: load('get-rebuild'),
  startRebuild: load('start-rebuild'),
  addProgress: load('add-progress'),
  finishRebuild: load('finish-rebuild'),
  requestCancel: load('request-cancel'),
  addShare: load('add-share'),
  loadRebuildSlots: load('load-rebuild-slots'),
  countHandled: load('count-handled'),
  counterLockRegistry: load('counter-lock-registry'),
  counterMakeLive: load('counter-make-live'),
} as const;
