import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./process-fixture.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every child started; whatever a failed test leaves running is killed. */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

interface Run {
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  signal: (signal: NodeJS.Signals) => void;
  /** Resolves with the first log line that has this message. */
  line: (msg: string) => Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs process-fixture.ts as a real process, the way the services' main.ts run. */
function run(env: Record<string, string>): Run {
  const child = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', FIXTURE],
    // tsx is a root devDependency: --import resolves it from the working directory.
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' },
  );
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  const waiting: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    const record = JSON.parse(text) as Record<string, unknown>;
    logs.push(record);
    for (const w of waiting.filter((w) => w.msg === record.msg)) w.resolve(record);
  });
  return {
    logs,
    stderr: () => stderr,
    signal: (signal) => child.kill(signal),
    line: (msg) =>
      new Promise((resolve) => {
        const seen = logs.find((record) => record.msg === msg);
        if (seen) resolve(seen);
        else waiting.push({ msg, resolve });
      }),
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
}

const messages = (logs: Record<string, unknown>[]) => logs.map((line) => line.msg);

/** What every stop logs first. */
const STOPPING = [
  'fixture listening',
  'shutting down: finishing in-flight requests',
  'closing the server',
];

/**
 * Waits for the listening line, then for one answer: the signal handlers are
 * installed just after that line is written, so only an answer proves they are.
 */
async function serving(service: Run): Promise<Record<string, unknown>> {
  const listening = await service.line('fixture listening');
  expect(await (await fetch(`http://127.0.0.1:${listening.port}/`)).text()).toBe('ok');
  return listening;
}

describe('runHttpService', { timeout: 20_000 }, () => {
  it('exports spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, flushing them at the stop', async () => {
    const received: { url: string; body: string }[] = [];
    const collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({ url: request.url ?? '', body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
      const service = run({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
      expect(await service.line('exporting traces over OTLP')).toMatchObject({ url: endpoint });
      await serving(service);
      service.signal('SIGTERM');
      expect(await service.exited).toBe(0);
      // Batched, so nothing was sent before the stop flushed it.
      const traces = received.filter((r) => r.url === '/v1/traces').map((r) => r.body);
      expect(traces.join('\n')).toContain('"fixture request"');
      expect(traces.join('\n')).toContain(
        '{"key":"service.name","value":{"stringValue":"fixture"}}',
      );
    } finally {
      await new Promise((resolve) => collector.close(resolve));
    }
  });

  it('prints a bad configuration under the service name and exits 1, logging nothing', async () => {
    const service = run({ FIXTURE_PORT: 'eighty', FIXTURE_SHUTDOWN_TIMEOUT_MS: '0' });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toBe(
      'fixture: invalid configuration:\n' +
        '  FIXTURE_PORT: must be a port number\n' +
        '  FIXTURE_SHUTDOWN_TIMEOUT_MS: must be a positive number of milliseconds\n',
    );
    expect(service.logs).toEqual([]);
  });

  it('prints an application module that cannot load and exits 1, starting nothing', async () => {
    const service = run({ FIXTURE_MODE: 'fail-load' });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toBe('fixture: app.config.ts: two projections are named x\n');
    expect(service.logs).toEqual([]);
  });

  it('logs a failed start as fatal, with the address, and exits 1', async () => {
    const service = run({ FIXTURE_MODE: 'fail-start', FIXTURE_PORT: '4321' });
    expect(await service.exited).toBe(1);
    expect(service.logs).toEqual([
      expect.objectContaining({
        service: 'fixture',
        level: 60,
        msg: 'cannot start',
        port: 4321,
        host: '127.0.0.1',
        err: expect.objectContaining({ message: 'cannot bind' }),
      }),
    ]);
  });

  it('says where it listens, and on SIGTERM stops gracefully and exits 0', async () => {
    const service = run({});
    const listening = await serving(service);
    expect(listening).toMatchObject({ service: 'fixture', host: '127.0.0.1', mode: 'ok' });
    expect(listening.port).toBeGreaterThan(0);
    service.signal('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(messages(service.logs)).toEqual([...STOPPING, 'stopped']);
    expect(service.logs[1]).toMatchObject({ signal: 'SIGTERM' });
  });

  it('stops once however many signals come, and exits 1 when the stop outlasts its deadline', async () => {
    const service = run({ FIXTURE_MODE: 'hang-close', FIXTURE_SHUTDOWN_TIMEOUT_MS: '300' });
    await serving(service);
    service.signal('SIGINT');
    await service.line('closing the server');
    service.signal('SIGTERM');
    expect(await service.exited).toBe(1);
    expect(messages(service.logs)).toEqual([
      ...STOPPING,
      'already shutting down',
      'shutdown timed out',
    ]);
    expect(service.logs[3]).toMatchObject({ signal: 'SIGTERM' });
    expect(service.logs[4]).toMatchObject({ level: 50, timeoutMs: 300 });
  });

  it('exits 1 when the stop fails', async () => {
    const service = run({ FIXTURE_MODE: 'fail-close' });
    await serving(service);
    service.signal('SIGTERM');
    expect(await service.exited).toBe(1);
    expect(messages(service.logs)).toEqual([...STOPPING, 'error while shutting down', 'stopped']);
  });

  it('logs `<name> ready` when a service that listens first becomes ready', async () => {
    const service = run({ FIXTURE_MODE: 'late-ready' });
    await serving(service);
    expect(await service.line('fixture ready')).toMatchObject({ service: 'fixture', level: 30 });
    service.signal('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(messages(service.logs)).toEqual([
      'fixture listening',
      'fixture ready',
      ...STOPPING.slice(1),
      'stopped',
    ]);
  });

  it('logs a start that cannot complete after listening as fatal, closes and exits 1', async () => {
    const service = run({ FIXTURE_MODE: 'fail-ready' });
    expect(await service.exited).toBe(1);
    expect(messages(service.logs)).toEqual([
      'fixture listening',
      'cannot start',
      'closing the server',
      'stopped',
    ]);
    expect(service.logs[1]).toMatchObject({
      level: 60,
      err: expect.objectContaining({ message: 'cannot join' }),
    });
  });

  it('stops a service still getting ready on SIGTERM, exiting 0 without saying it is ready', async () => {
    const service = run({ FIXTURE_MODE: 'never-ready' });
    await serving(service);
    service.signal('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(messages(service.logs)).toEqual([...STOPPING, 'stopped']);
  });

  it('logs an uncaught exception or unhandled rejection as fatal and exits 1', async () => {
    for (const [mode, msg] of [
      ['throw', 'uncaught exception'],
      ['reject', 'unhandled rejection'],
    ] as const) {
      const service = run({ FIXTURE_MODE: mode });
      expect(await service.exited).toBe(1);
      expect(service.logs.at(-1)).toMatchObject({
        level: 60,
        msg,
        err: expect.objectContaining({ message: 'a bug' }),
      });
    }
  });
});
