import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
} from '@refract/testing';
import { describe, expect, it } from 'vitest';

const GUIDE = 'docs/getting-started.md';
/** The folder the guide has the reader create; the test uses a fresh one in its place. */
const GUIDE_DIR = 'my-app/';

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

const normalise = (text: string) => text.replace(/\s+/g, ' ').trim();

/** `expected` as a pattern over whitespace-normalised output: `…` stands for anything. */
function promised(expected: string): RegExp {
  const parts = normalise(expected)
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('.*'));
}

function run(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd: REPO_ROOT, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe(GUIDE, () => {
  it('takes a new module from its file to a projected row and a finished rebuild', async () => {
    const guide = parseGuide(readFileSync(join(REPO_ROOT, GUIDE), 'utf8'));
    expect(guide.files.map((f) => f.path)).toEqual([`${GUIDE_DIR}refract.config.ts`]);
    expect(guide.steps[0]!.command).toMatch(/^pnpm start /);

    // Inside the checkout, as the guide says: the root's node_modules must resolve its imports.
    const appDir = await mkdtemp(join(REPO_ROOT, 'getting-started-'));
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
    /** The guide's command on this test's folder, ports and database. */
    const local = (command: string) =>
      command
        .replaceAll(GUIDE_DIR, `${basename(appDir)}/`)
        .replaceAll('localhost:4000', `127.0.0.1:${ports.write}`)
        .replaceAll('postgres://refract:refract@127.0.0.1:54329/refract', db.url);

    let stack: ChildProcess | undefined;
    const lines: string[] = [];
    try {
      for (const file of guide.files) {
        const path = join(appDir, file.path.slice(GUIDE_DIR.length));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.text);
      }

      const [start, ...steps] = guide.steps;
      // In a process group of its own, so that the end of the test can Ctrl-C all of it.
      stack = spawn('sh', ['-c', `exec ${local(start!.command)}`], {
        cwd: REPO_ROOT,
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

      for (const step of steps) {
        const command = local(step.command);
        // Reads are retried until the workers have caught up; writes run once.
        const retry = !command.includes('-X POST');
        await eventually(
          async () => {
            const { code, output } = await run(command, env);
            expect(code, `${command}\n${output}`).toBe(0);
            for (const line of step.expected) {
              expect(normalise(output), `${command}: ${line}`).toMatch(promised(line));
            }
          },
          { timeoutMs: retry ? 60_000 : 0, intervalMs: 500 },
        );
      }
    } catch (error) {
      // What the stack logged above warn: why a request of the guide failed.
      const problems = lines.filter((l) => /"level":(40|50|60)/.test(l));
      throw new Error(
        `${(error as Error).message}\nstack log:\n${problems.slice(-20).join('\n')}`,
        {
          cause: error,
        },
      );
    } finally {
      if (stack?.exitCode === null) {
        const exited = new Promise((resolve) => stack!.once('exit', resolve));
        process.kill(-stack.pid!, 'SIGINT');
        await exited;
      }
      await rm(appDir, { recursive: true, force: true });
      await redis.cleanup();
      await db.drop();
    }
  }, 360_000);
});
