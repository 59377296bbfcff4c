import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Runs a service's `main.ts` as a real process (TypeScript through tsx, the
 * workspace's source condition) and waits until `readyUrl` answers 200.
 */
export async function startServiceProcess(
  main: string,
  env: Record<string, string>,
  readyUrl: string,
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--conditions=@refract/source', '--import', 'tsx', main], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${main} exited with ${child.exitCode}`);
        const response = await fetch(readyUrl);
        if (response.status !== 200) throw new Error(`${readyUrl} answered ${response.status}`);
      },
      { timeoutMs },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
