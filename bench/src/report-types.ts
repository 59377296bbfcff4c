/** A throughput figure and its raw baseline, measured in the same run. */
export interface ThroughputFigure {
  eventsPerSec: number;
  baseline: number;
  /** eventsPerSec / baseline. */
  ratio: number;
  /** What was measured, beyond the three numbers every result has. */
  [detail: string]: unknown;
}

export interface LatencyFigure {
  p50: number;
  p99: number;
  max: number;
  [detail: string]: unknown;
}

/** A sub-part that did not produce a figure: its verification failed, or it could not run. */
export interface Failure {
  part: string;
  error: string;
}

export interface AppendResults {
  batch100?: ThroughputFigure;
  single32?: ThroughputFigure;
}

export interface FanoutResults {
  latencyMs?: LatencyFigure;
  backlog?: ThroughputFigure;
}

export interface ProjectorResults {
  catchup?: {
    oneWorker?: ThroughputFigure;
    twoWorkers?: { eventsPerSec: number; ratio: number; [detail: string]: unknown };
  };
  liveLag?: { p50Ms: number; p99Ms: number; maxMs: number; [detail: string]: unknown };
  memory?: { workerPeakRssMb: number; [detail: string]: unknown };
}

/** Runs one sub-part; a failure is recorded (no figure) and the run goes on with the next. */
export async function attempt<T>(
  part: string,
  failures: Failure[],
  run: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`[${part}] FAILED: ${message}\n`);
    failures.push({ part, error: message });
    return undefined;
  }
}
