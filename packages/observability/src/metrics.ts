import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';

export type { Counter, Gauge, Histogram, Registry } from 'prom-client';

type Config<C> = Omit<C, 'registers'>;

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type header for `render()`'s output. */
  readonly contentType: string;
  /**
   * Defines a counter on this registry, or returns the one defined under that
   * name already, so two modules (or two app instances) can share it.
   */
  counter<L extends string = never>(config: Config<CounterConfiguration<L>>): Counter<L>;
  histogram<L extends string = never>(config: Config<HistogramConfiguration<L>>): Histogram<L>;
  gauge<L extends string = never>(config: Config<GaugeConfiguration<L>>): Gauge<L>;
  /** Every metric in the Prometheus text format. */
  render(): Promise<string>;
}

export interface MetricsOptions {
  /** Collect Node's process metrics (CPU, memory, event loop lag, GC). @defaultValue true */
  defaultMetrics?: boolean;
}

/**
 * A fresh registry. A process creates one at start-up and hands it to every
 * component, instead of prom-client's global registry, so tests can build
 * as many apps as they like without name clashes.
 */
/**
 * prom-client's gauges named like counters: `promtool check metrics` refuses
 * them, and each is the sum over its `nodejs_active_*{type}` twin, which stays.
 */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }

  function define<M>(name: string, kind: abstract new (...args: never[]) => M, create: () => M): M {
    const existing = registry.getSingleMetric(name);
    if (existing === undefined) return create();
    if (!(existing instanceof kind)) {
      throw new Error(`metric ${name} is already defined with another type`);
    }
    return existing;
  }

  return {
    registry,
    contentType: registry.contentType,
    counter: (config) =>
      define(config.name, Counter, () => new Counter({ ...config, registers: [registry] })),
    histogram: (config) =>
      define(config.name, Histogram, () => new Histogram({ ...config, registers: [registry] })),
    gauge: (config) =>
      define(config.name, Gauge, () => new Gauge({ ...config, registers: [registry] })),
    render: () => registry.metrics(),
  };
}
