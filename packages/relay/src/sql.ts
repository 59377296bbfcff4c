import { readFileSync } from 'node:fs';

const load = (name: string) => readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');

export const SQL = {
  readAfter: load('read-after'),
  lastPositions: load('last-positions'),
  loadCheckpoint: load('load-checkpoint'),
  saveCheckpoint: load('save-checkpoint'),
  relayState: load('relay-state'),
} as const;
