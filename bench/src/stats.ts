/** Events per second, rounded to a whole event. */
export function perSecond(count: number, durationMs: number): number {
  return Math.round((count * 1000) / durationMs);
}

/** figure / baseline to three places (0 when there is no baseline). */
export function ratio(figure: number, baseline: number): number {
  return baseline > 0 ? Math.round((figure / baseline) * 1000) / 1000 : 0;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of samples in milliseconds, to 0.01 ms. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  if (samplesMs.length === 0) throw new Error('no latency samples');
  const sorted = Float64Array.from(samplesMs).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1]!),
    mean: round(sum / sorted.length),
  };
}

/** The numbers every throughput figure has: events/s against its baseline's, and both times. */
export function throughput(events: number, ms: number, baselineMs: number) {
  const eventsPerSec = perSecond(events, ms);
  const baselinePerSec = perSecond(events, baselineMs);
  return {
    eventsPerSec,
    baseline: baselinePerSec,
    ratio: ratio(eventsPerSec, baselinePerSec),
    events,
    seconds: Math.round(ms) / 1000,
    baselineSeconds: Math.round(baselineMs) / 1000,
  };
}
