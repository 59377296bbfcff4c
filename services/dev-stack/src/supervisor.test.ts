import { createLogger } from '@refract/observability';
import { collectLines, eventually } from '@refract/testing';
import { describe, expect, it } from 'vitest';
import { type SupervisedProcess, spawnSupervised } from './processes.js';
import { type RestartPolicy, supervise } from './supervisor.js';

/** A real child process: `node -e code`. */
function child(code: string): SupervisedProcess {
  return spawnSupervised({
    name: 'test-child',
    command: process.execPath,
    args: ['-e', code],
    env: {},
    cwd: process.cwd(),
    onLine: () => {},
  });
}
const RUNS = 'setInterval(() => {}, 1000)';
const DIES = 'process.exit(3)';

/** Supervises a running child; each restart starts `nextCode`. */
function harness(policy: Partial<RestartPolicy> = {}, nextCode = RUNS) {
  const { lines, stream } = collectLines();
  const first = child(RUNS);
  const started: SupervisedProcess[] = [];
  const giveUps: string[] = [];
  const state = { restartable: true };
  const supervisor = supervise({
    name: 'svc',
    first,
    restart: async (_signal, spawned) => {
      const next = child(nextCode);
      started.push(next);
      spawned(next);
    },
    policy: { crashLimit: 3, crashWindowMs: 60_000, firstDelayMs: 20, maxDelayMs: 1000, ...policy },
    logger: createLogger({ service: 'supervisor-test', destination: stream }),
    restartable: () => state.restartable,
    onGiveUp: (reason) => giveUps.push(reason),
  });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { first, supervisor, started, giveUps, records, state };
}

describe('supervise', () => {
  it('restarts a killed service after a backoff, logs the crash and the restart, and stops the new process', async () => {
    const h = harness();
    h.first.kill();
    await eventually(() => expect(h.records().some((r) => r.msg === 'svc restarted')).toBe(true));
    expect(h.started).toHaveLength(1);
    expect(h.started[0]!.running).toBe(true);
    expect(h.supervisor.restarts).toBe(1);
    expect(h.records().find((r) => r.msg === 'svc crashed: restarting')).toMatchObject({
      exit: 'was killed by SIGKILL',
      crashes: 1,
      crashLimit: 3,
      delayMs: 20,
    });
    const status = await h.supervisor.stop(5000);
    expect(status?.signal).toBe('SIGTERM');
    expect(h.started[0]!.running).toBe(false);
    expect(h.giveUps).toEqual([]);
  });

  it('gives up after crashLimit crashes within the window, with the reason, backing off in between', async () => {
    const h = harness({ crashLimit: 3 }, DIES);
    h.first.kill();
    await eventually(() => expect(h.giveUps).toHaveLength(1));
    expect(h.giveUps[0]).toBe('svc crashed 3 times within 60000 ms (last: exited with code 3)');
    const delays = h
      .records()
      .filter((r) => r.msg === 'svc crashed: restarting')
      .map((r) => r.delayMs);
    expect(delays).toEqual([20, 40]);
    // No restart after giving up: two restarts, both dead.
    expect(h.started).toHaveLength(2);
    expect(await h.supervisor.stop(1000)).toBeUndefined();
  });

  it('crashes older than the window do not count towards the limit', async () => {
    const h = harness({ crashLimit: 2, crashWindowMs: 1 }, DIES);
    h.first.kill();
    // Each crash finds the one before it out of the 1 ms window: restarts go on.
    await eventually(() => expect(h.started.length).toBeGreaterThanOrEqual(3));
    await h.supervisor.stop(1000);
    expect(h.giveUps).toEqual([]);
  });

  it('leaves the service down when its exit is not restartable, and a stop calls a pending restart off', async () => {
    const h = harness({ firstDelayMs: 60_000 });
    h.state.restartable = false;
    h.first.kill();
    await h.first.exited;
    const other = harness({ firstDelayMs: 60_000 });
    other.first.kill();
    await eventually(() =>
      expect(other.records().some((r) => r.msg === 'svc crashed: restarting')).toBe(true),
    );
    // The restart waits a minute; the stop does not wait for it, and nothing starts afterwards.
    expect(await other.supervisor.stop(1000)).toBeUndefined();
    expect(h.records()).toEqual([]);
    expect(h.started).toEqual([]);
    expect(other.started).toEqual([]);
  });
});
