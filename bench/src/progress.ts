import { fmt } from './plan.js';

const INTERVAL_MS = 1000;

/** Writes a console line for the run: progress goes to stderr, the results table to stdout. */
export function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Progress of one phase: a line about once a second with the events done,
 * the rate of the last second and the average rate, and a closing line.
 */
export class Progress {
  private done = 0;
  private readonly started = performance.now();
  private lastDone = 0;
  private lastAt = this.started;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly phase: string,
    private readonly total: number,
    private readonly unit = 'events',
  ) {
    say(`[${phase}] started: ${fmt(total)} ${unit}`);
    this.timer = setInterval(() => this.tick(), INTERVAL_MS);
    this.timer.unref();
  }

  add(count: number): void {
    this.done += count;
  }

  /** Stops the ticking and prints the phase's summary. */
  finish(note = ''): void {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.started) / 1000;
    say(
      `[${this.phase}] done: ${fmt(this.done)} ${this.unit} in ${seconds.toFixed(2)} s, ${fmt(this.done / seconds)} ${this.unit}/s${note ? `, ${note}` : ''}`,
    );
  }

  /** Stops the ticking without a summary (the phase failed). */
  abort(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const recent = ((this.done - this.lastDone) * 1000) / (now - this.lastAt);
    const average = (this.done * 1000) / (now - this.started);
    const percent = this.total > 0 ? ((100 * this.done) / this.total).toFixed(0) : '-';
    say(
      `[${this.phase}] ${fmt(this.done)} / ${fmt(this.total)} ${this.unit} (${percent}%)  ${fmt(recent)}/s now, ${fmt(average)}/s avg`,
    );
    this.lastDone = this.done;
    this.lastAt = now;
  }
}
