import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { migrate } from '@refract/event-store';
import { createRedisClient, readPartitionStream } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  lateDatabase,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** A module that accepts any event type: these tests append `Started`, `Later`, `Happened`. */
const OPEN_APP = fileURLToPath(new URL('./fixtures/open.config.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('write_api_e2e');
  await migrate({ databaseUrl: db.url, partitions: 4 });
});

/** Every process started, so that none outlives the file, whatever failed. */
const spawned: ChildProcess[] = [];

afterAll(async () => {
  for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
  await db?.drop();
});

interface Service {
  child: ChildProcess;
  port: number;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `src/main.ts` as the real process, on a port the OS picks, and
 * waits until it listens. The module comes from `--config` unless the
 * environment names one (REFRACT_CONFIG).
 */
async function startService(
  env: Record<string, string>,
  logs: Record<string, unknown>[] = [],
  args: string[] = [],
): Promise<Service> {
  const config = [...(env.REFRACT_CONFIG ? [] : ['--config', OPEN_APP]), ...args];
  const child = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', MAIN, ...config],
    {
      // tsx is a root devDependency: --import resolves it from the working directory.
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  spawned.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stderr: ${stderr}`)),
      30_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      logs.push(record);
      if (record.msg === 'write-api listening') {
        clearTimeout(timer);
        resolve(record.port as number);
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  return { child, port, logs, exited };
}

/** One process on its own: no relay, on a port the OS picks. */
function startAlone(): Promise<Service> {
  return startService({
    DATABASE_URL: db.url,
    WRITE_API_PORT: '0',
    WRITE_API_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    RELAY_MODE: 'off',
  });
}

describe('write-api process', () => {
  it('refuses to start with a bad configuration, naming the variables', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@refract/source', '--import', 'tsx', MAIN],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', WRITE_API_PORT: 'eighty' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('DATABASE_URL');
    expect(stderr).toContain('WRITE_API_PORT');
  });

  it('refuses to start on 0.0.0.0 without a token, saying why; starts with one, or with --insecure-no-auth', async () => {
    const open = {
      DATABASE_URL: db.url,
      WRITE_API_PORT: '0',
      WRITE_API_HOST: '0.0.0.0',
      RELAY_MODE: 'off',
    };
    const child = spawn(
      process.execPath,
      ['--conditions=@refract/source', '--import', 'tsx', MAIN, '--config', OPEN_APP],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', ...open },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(
      'WRITE_API_TOKEN: is required when WRITE_API_HOST is not a loopback address',
    );
    expect(stderr).toContain('--insecure-no-auth');

    const token = 'e2e-write-token-0123456789';
    const secured = await startService({ ...open, WRITE_API_TOKEN: token });
    const insecure = await startService(open, [], ['--insecure-no-auth']);
    try {
      expect(secured.logs.find((l) => l.msg === 'write-api listening')).toMatchObject({
        host: '0.0.0.0',
        auth: 'bearer',
      });
      const url = (port: number) => `http://127.0.0.1:${port}/streams/e2e-auth/events`;
      const body = JSON.stringify({ events: [{ type: 'Happened', data: {} }] });
      const headers = { 'content-type': 'application/json' };
      const refused = await fetch(url(secured.port), { method: 'POST', headers, body });
      expect(refused.status).toBe(401);
      const allowed = await fetch(url(secured.port), {
        method: 'POST',
        headers: { ...headers, authorization: `Bearer ${token}` },
        body,
      });
      expect(allowed.status).toBe(201);
      expect(insecure.logs.find((l) => l.msg === 'write-api listening')).toMatchObject({
        host: '0.0.0.0',
        auth: 'off',
      });
    } finally {
      for (const service of [secured, insecure]) {
        service.child.kill('SIGTERM');
        await service.exited;
      }
    }
  });

  it('started while Postgres refuses, waits it out, then serves', async () => {
    const late = await lateDatabase(db.url);
    const logs: Record<string, unknown>[] = [];
    const starting = startService(
      {
        DATABASE_URL: late.url,
        WRITE_API_PORT: '0',
        WRITE_API_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        RELAY_MODE: 'off',
      },
      logs,
    );
    // Awaited below; observed now, so an early exit fails the test, not the run.
    starting.catch(() => {});
    let service: Service | undefined;
    try {
      await eventually(
        () =>
          expect(logs.map((l) => l.msg)).toContain('Postgres unavailable during start: retrying'),
        { timeoutMs: 30_000 },
      );
      await late.open();
      service = await starting;
      const base = `http://127.0.0.1:${service.port}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const appended = await fetch(`${base}/streams/late-${randomUUID()}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'Started', data: { n: 1 } }] }),
      });
      expect(appended.status).toBe(201);
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (service?.child.exitCode === null) service.child.kill('SIGKILL');
      await starting.catch(() => {});
      await late.close();
    }
  });

  it('serves appends over HTTP and, on SIGTERM, finishes the request in flight and exits 0', async () => {
    const service = await startAlone();
    const base = `http://127.0.0.1:${service.port}`;
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const streamId = `e2e-${randomUUID()}`;
      const first = await fetch(`${base}/streams/${streamId}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'Started', data: { n: 1 } }] }),
      });
      expect(first.status).toBe(201);
      expect(await first.json()).toMatchObject({ streamId, firstVersion: 0, lastVersion: 0 });

      // A request in flight: headers and half the body sent, the rest after SIGTERM.
      const body = JSON.stringify({ expectedVersion: 0, events: [{ type: 'Later', data: {} }] });
      const socket = net.connect(service.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let response = '';
      socket.on('data', (chunk) => {
        response += chunk;
      });
      const socketClosed = new Promise((resolve) => socket.once('close', resolve));
      // Node answers 100 Continue once it has parsed the headers: the request is in the server.
      socket.write(
        `POST /streams/${streamId}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      await waitFor(() => /^HTTP\/1\.1 100 Continue\r\n\r\n$/.test(response));
      socket.write(body.slice(0, 5));

      service.child.kill('SIGTERM');
      // The process keeps running while the request is unfinished, and stops
      // accepting new connections.
      await waitFor(() => service.logs.some((l) => l.msg?.toString().startsWith('shutting down')));
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
      expect(service.child.exitCode).toBeNull();

      socket.write(body.slice(5));
      await socketClosed;
      expect(response.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')).toMatch(/^HTTP\/1\.1 201 /);
      expect(response).toContain('"firstVersion":1');

      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.logs.at(-1)).toMatchObject({ msg: 'stopped', service: 'write-api' });
      // Nothing the process logged holds a stack trace for a request.
      expect(service.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  });

  it('answers a 5 MB append 413 naming the limit, every time, and keeps the connection', async () => {
    const service = await startAlone();
    const base = `http://127.0.0.1:${service.port}`;
    const limit = 1024 * 1024;
    const huge = JSON.stringify({
      events: [{ type: 'Happened', data: { blob: 'x'.repeat(5 * 1024 * 1024) } }],
    });
    const tooLarge = {
      error: 'payload_too_large',
      message: `body must be at most ${limit} bytes`,
      limitBytes: limit,
    };
    const refused = Array.from({ length: 10 }, () => `e2e-huge-${randomUUID()}`);
    // The server in its own process, as deployed: the upload is still going
    // when the 413 comes. When the server closed the socket then, most of
    // these failed with `fetch failed` (EPIPE) instead.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const streamId of refused) {
        const response = await fetch(`${base}/streams/${streamId}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: huge,
        });
        expect(response.status).toBe(413);
        expect(await response.json()).toEqual({ ...tooLarge, field: 'body' });
      }

      // On one kept-alive connection: the 413, then a normal append on the same socket.
      const streamId = `e2e-after-${randomUUID()}`;
      const big = await post(agent, service.port, `/streams/${refused[0]}/events`, huge);
      expect(big).toMatchObject({ status: 413, localPort: expect.any(Number) });
      expect(JSON.parse(big.body)).toMatchObject(tooLarge);
      const small = await post(
        agent,
        service.port,
        `/streams/${streamId}/events`,
        JSON.stringify({ events: [{ type: 'Happened', data: { n: 1 } }] }),
      );
      expect(small).toMatchObject({ status: 201, localPort: big.localPort });

      // The append just made is there; none of the refused streams exists.
      const stored = await fetch(`${base}/streams/${streamId}`);
      expect(((await stored.json()) as { events: unknown[] }).events).toHaveLength(1);
      for (const id of refused) {
        expect((await fetch(`${base}/streams/${id}`)).status).toBe(404);
      }
    } finally {
      agent.destroy();
      service.child.kill('SIGKILL');
    }
  });
});

describe('the embedded relay', () => {
  it('has one leader across two write-api processes; when it is killed the other publishes', async () => {
    const ns = createTestRedisNamespace('write_api_relay');
    const redis = createRedisClient(ns.url, { failFast: false });
    const env = {
      DATABASE_URL: db.url,
      WRITE_API_PORT: '0',
      WRITE_API_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: ns.url,
      REDIS_KEY_PREFIX: ns.prefix,
      REFRACT_CONFIG: OPEN_APP,
    };
    const services = [await startService(env), await startService(env)];
    const base = (s: Service) => `http://127.0.0.1:${s.port}`;
    const isLeader = async (s: Service) =>
      /^refract_relay_leader 1$/m.test(await (await fetch(`${base(s)}/metrics`)).text());
    const append = async (s: Service, n: number) => {
      const response = await fetch(`${base(s)}/streams/relay-e2e-${n}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ type: 'Happened', data: { n } }] }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { lastPosition: number }).lastPosition;
    };
    const inRedis = async () => {
      const positions: number[] = [];
      for (let p = 0; p < 4; p++) {
        for (const entry of await readPartitionStream(redis, ns.prefix, p, 0, 10_000)) {
          positions.push(entry.position);
        }
      }
      return positions.sort((a, b) => a - b);
    };
    try {
      const leaders = await eventually(async () => {
        const flags = await Promise.all(services.map(isLeader));
        expect(flags.filter(Boolean)).toHaveLength(1);
        return flags;
      });
      const leader = services[leaders.indexOf(true)]!;
      const follower = services[leaders.indexOf(false)]!;
      const before = await append(follower, 1);
      await eventually(async () => expect(await inRedis()).toContain(before));

      leader.child.kill('SIGKILL');
      await leader.exited;
      const after = await append(follower, 2);
      // The lock goes with the dead process's session; the follower retries every second.
      await eventually(async () => expect(await inRedis()).toContain(after), { timeoutMs: 15_000 });
      expect(await isLeader(follower)).toBe(true);
      const positions = await inRedis();
      expect(new Set(positions).size).toBe(positions.length);
    } finally {
      for (const s of services) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      redis.disconnect();
      await ns.cleanup();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A JSON POST through `agent`, with the local port of the connection it went
 * on (`reusedSocket` is not set when a queued request gets a freed socket).
 */
function post(
  agent: http.Agent,
  port: number,
  path: string,
  body: string,
): Promise<{ status: number; body: string; localPort: number | undefined }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        port,
        host: '127.0.0.1',
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: text,
            localPort: request.socket?.localPort,
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
