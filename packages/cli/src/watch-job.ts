import { setTimeout as sleep } from 'node:timers/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { AdminClient } from './admin-client.js';
import { HELD_JOB_STATE, isFinalJobState, type JobInfo } from './admin-types.js';
import { formatDuration, formatJobLine, formatRate } from './format.js';

export interface WatchJobOptions {
  client: Pick<AdminClient, 'job'>;
  jobId: string;
  /** Where progress goes (standard error, so that standard output stays for `--json`). */
  out: NodeJS.WritableStream & { isTTY?: boolean };
  /** Between two polls of `GET /api/jobs/{id}`. @defaultValue 1000 */
  intervalMs?: number;
  /** Without a terminal, a progress line at most this often (and on every state change). @defaultValue 2000 */
  lineEveryMs?: number;
}

/**
 * Polls the job until it is completed, failed or cancelled and returns its
 * last state. On a terminal it draws a progress bar (processed/total, rate,
 * ETA as admin computes them); elsewhere (CI, a pipe) it writes plain lines.
 */
export async function watchJob(options: WatchJobOptions): Promise<JobInfo> {
  const { client, jobId, out } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const view = out.isTTY ? barView(out) : lineView(out, options.lineEveryMs ?? 2000);
  try {
    for (;;) {
      const job = await client.job(jobId);
      view.update(job);
      // A held rebuild waits for an operator: nothing more to follow.
      if (isFinalJobState(job.state) || job.state === HELD_JOB_STATE) return job;
      await sleep(intervalMs);
    }
  } finally {
    view.stop();
  }
}

interface View {
  update(job: JobInfo): void;
  stop(): void;
}

/**
 * The values shown beside the bar, from the job's own figures. Named apart
 * from cli-progress's own tokens (`{eta}`, `{value}`), which it computes
 * itself and would win.
 */
function barPayload(job: JobInfo): { jobState: string; jobRate: string; jobEta: string } {
  return {
    jobState: job.state,
    jobRate: formatRate(job.eventsPerSecond),
    jobEta: formatDuration(job.etaSeconds),
  };
}

function barView(out: NodeJS.WritableStream): View {
  const bar = new SingleBar(
    {
      stream: out,
      format:
        '{jobState} |{bar}| {percentage}% {value}/{total} events | {jobRate} ev/s | ETA {jobEta}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      // Before the job has counted its events, a total of 1 keeps the bar at 0%.
      const total = job.total && job.total > 0 ? job.total : Math.max(1, job.processed);
      if (!started) {
        bar.start(total, job.processed, barPayload(job));
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(job.processed, barPayload(job));
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function lineView(out: NodeJS.WritableStream, lineEveryMs: number): View {
  let lastState: string | undefined;
  let lastProcessed: number | undefined;
  let lastAt = 0;
  return {
    update(job) {
      const now = Date.now();
      const stateChanged = job.state !== lastState;
      const progressed = job.processed !== lastProcessed && now - lastAt >= lineEveryMs;
      if (!stateChanged && !progressed) return;
      lastState = job.state;
      lastProcessed = job.processed;
      lastAt = now;
      out.write(`${formatJobLine(job)}\n`);
    },
    stop() {},
  };
}
