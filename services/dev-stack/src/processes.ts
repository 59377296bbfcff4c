import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How a child ended: an exit code, a signal, or a spawn error (e.g. ENOENT). */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export function describeExit(status: ExitStatus): string {
  if (status.error) return `could not be started (${status.error.message})`;
  if (status.signal) return `was killed by ${status.signal}`;
  return `exited with code ${status.code}`;
}

export interface SpawnOptions {
  /** Names the child in logs and errors. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Each line the child writes, without its newline. */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface SupervisedProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** True until the child has exited (or failed to start). */
  readonly running: boolean;
  /** Settles once, when the child has exited and its output is drained. */
  readonly exited: Promise<ExitStatus>;
  /**
   * SIGTERM, then SIGKILL after `timeoutMs`; resolves when the child is gone.
   * Idempotent: later calls return the first call's promise.
   */
  stop(timeoutMs: number): Promise<ExitStatus>;
  /** SIGKILL now, without waiting (the forced path, and the last resort on exit). */
  kill(): void;
}

/** Every child still running, so a crash of this process can still kill them (see killAll). */
const live = new Set<SupervisedProcess>();

/**
 * Starts a child whose output is read line by line and whose end is always
 * observed. The child stays in this process's session and process group: the
 * stack process is itself detached from the terminal (see main.ts), so a
 * Ctrl-C reaches the children only through this process, in order.
 */
export function spawnSupervised(options: SpawnOptions): SupervisedProcess {
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let running = true;
  const drained: Promise<void>[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream];
    if (!source) continue;
    const lines = createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => options.onLine(line, stream));
    drained.push(new Promise((resolve) => lines.once('close', resolve)));
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    // 'close' comes after 'exit' once stdio is flushed; 'error' alone when the spawn failed.
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, signal) => {
      // A grandchild that inherited the pipes could hold them open: wait for
      // the last lines a moment, not forever.
      const grace = new Promise((later) => setTimeout(later, 1000).unref());
      void Promise.race([Promise.all(drained), grace]).then(() => resolve({ code, signal }));
    });
  }).then((status) => {
    running = false;
    live.delete(handle);
    return status;
  });

  let stopping: Promise<ExitStatus> | undefined;
  const handle: SupervisedProcess = {
    name: options.name,
    pid: child.pid,
    get running() {
      return running;
    },
    exited,
    stop(timeoutMs) {
      stopping ??= (async () => {
        if (!running) return exited;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
    kill() {
      if (running) child.kill('SIGKILL');
    },
  };
  live.add(handle);
  return handle;
}

/**
 * SIGKILLs every supervised child that is still running. Synchronous, so it
 * also works from an 'exit' handler: no child outlives this process.
 */
export function killAll(): void {
  for (const child of live) child.kill();
}
