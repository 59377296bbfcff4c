import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { migrate } from '@refract/event-store';
import {
  createTestDatabase,
  createTestRedisNamespace,
  freePort,
  ORDERS_APP_CONFIG,
  type ServiceProcess,
  startServiceProcess,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TOKEN = 'e2e-admin-token-0123456789';

let db: TestDatabase;
let ns: TestRedisNamespace;

beforeAll(async () => {
  db = await createTestDatabase('admin_e2e');
  ns = createTestRedisNamespace('admin-e2e');
  await migrate({ databaseUrl: db.url, partitions: 4 });
});

afterAll(async () => {
  await ns?.cleanup();
  await db?.drop();
});

describe('admin main', () => {
  it('refuses to start without ADMIN_TOKEN outside development, naming the variable', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@refract/source', '--import', 'tsx', MAIN],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, REDIS_URL: ns.url },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('admin: invalid configuration');
    expect(stderr).toContain('ADMIN_TOKEN: is required');
  });

  it('in dev mode generates a token, logs it once, and accepts it', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--conditions=@refract/source', '--import', 'tsx', MAIN, '--config', ORDERS_APP_CONFIG],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          ADMIN_DEV_MODE: 'true',
          ADMIN_PORT: String(port),
          ADMIN_HOST: '127.0.0.1',
          ADMIN_REBUILD_WORKER: 'false',
          DATABASE_URL: db.url,
          REDIS_URL: ns.url,
          REDIS_KEY_PREFIX: ns.prefix,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const lines: Record<string, unknown>[] = [];
      const listening = new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const record = JSON.parse(line) as Record<string, unknown>;
          lines.push(record);
          if (record.msg === 'admin listening') resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      await listening;
      const generated = lines.filter((l) => typeof l.generatedToken === 'string');
      expect(generated).toHaveLength(1);
      const token = generated[0]!.generatedToken as string;
      const base = `http://127.0.0.1:${port}/api/relay`;
      expect((await fetch(base, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
      expect((await fetch(base, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      );
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('serves the API behind the token and stops cleanly on SIGTERM with a stream open', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let service: ServiceProcess | undefined;
    try {
      service = await startServiceProcess(
        MAIN,
        {
          ADMIN_PORT: String(port),
          ADMIN_HOST: '127.0.0.1',
          ADMIN_TOKEN: TOKEN,
          DATABASE_URL: db.url,
          REDIS_URL: ns.url,
          REDIS_KEY_PREFIX: ns.prefix,
        },
        `${base}/readyz`,
      );
      expect((await fetch(`${base}/api/projections`)).status).toBe(401);
      const listed = await fetch(`${base}/api/projections`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual([]);

      const stream = await fetch(`${base}/api/stream`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: relay')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      expect(text).toContain('event: projections\ndata: []');

      expect(await service.stop()).toBe(0);
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) break;
      }
    } finally {
      await service?.stop();
    }
  });
});
