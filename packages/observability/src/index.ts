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
export {
  activeCarrier,
  carrierOf,
  contextFromCarrier,
  eventsSpanPlacement,
  inSpan,
  parseTraceparent,
  type Span,
  SpanKind,
  SpanStatusCode,
  TRACE_METADATA_KEYS,
  type TraceCarrier,
  type Tracer,
  toCarrier,
  tracer,
} from './tracing.js';
