import { readFileSync } from 'node:fs';

/**
 * Loads a statement from `sql/<name>.sql`. The files sit beside `src/` and
 * `dist/`, so the same relative path works from source and from a build.
 * Read once at import time: statements are constants.
 */
function load(name: string): string {
  return readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');
}

export const SQL = {
  appendBatch: load('append-batch'),
  appendOne: load('append-one'),
  readStream: load('read-stream'),
  streamVersion: load('stream-version'),
  readAll: load('read-all'),
  loadSnapshot: load('load-snapshot'),
  saveSnapshot: load('save-snapshot'),
} as const;
