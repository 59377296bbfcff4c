import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { profileFlags, REPO_ROOT } from '../child.js';
import { pinnedCommand } from '../cores.js';
import type { BenchStack } from '../stack.js';

const READY_TIMEOUT_MS = 30_000;

/**
 * Spawns one of the baselines' processes (its source through tsx, as the
 * bench itself runs; pinned like the services under `--cores`) and resolves
 * once it prints a line starting with `ready`: that line, and how to stop it.
 */
export async function startScriptChild(
  stack: BenchStack,
  file: string,
  args: string[],
): Promise<{ readyLine: string; stop: () => Promise<void> }> {
  const [command, commandArgs] = pinnedCommand(process.execPath, [
    ...profileFlags(),
    '--conditions=@refract/source',
    '--import',
    'tsx',
    fileURLToPath(new URL(`./${file}`, import.meta.url)),
    ...args,
  ]);
  const child = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = stack.defer(`stopping ${file}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  try {
    const readyLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${file} did not start`)), READY_TIMEOUT_MS);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const line = output.split('\n').find((text) => text.startsWith('ready'));
        if (line !== undefined && output.includes('\n', output.indexOf(line))) {
          clearTimeout(timer);
          resolve(line);
        }
      });
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    });
    return { readyLine, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
