import type { RunningService } from '../services.js';
import type { BenchStack } from '../stack.js';
import { startScriptChild } from './script-child.js';

/**
 * The HTTP floor of the append figures (http-floor-server.ts) as a process
 * on a free loopback port, with write-api's pool size and body limit.
 */
export async function startHttpFloor(
  stack: BenchStack,
  options: { poolSize: number; bodyLimitBytes: number },
): Promise<RunningService> {
  const { readyLine, stop } = await startScriptChild(stack, 'http-floor-server.ts', [
    stack.databaseUrl,
    String(stack.partitions),
    String(options.poolSize),
    String(options.bodyLimitBytes),
  ]);
  const port = Number(readyLine.split(' ')[1]);
  if (!Number.isInteger(port)) throw new Error(`the HTTP floor said "${readyLine}", not its port`);
  return { origin: `http://127.0.0.1:${port}`, stop };
}
