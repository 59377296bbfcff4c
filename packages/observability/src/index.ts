export {
  createLogger,
  type Logger,
  type LoggerConfig,
  type LogLevel,
  maskUrlPassword,
  prettyStream,
} from './logger.js';
export {
  type Counter,
  createMetrics,
  type Gauge,
  type Histogram,
  type Metrics,
  type MetricsOptions,
  type Registry,
} from './metrics.js';
