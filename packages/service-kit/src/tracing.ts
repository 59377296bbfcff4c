/** A running trace pipeline: `shutdown` flushes what is buffered and stops it. */
export interface Tracing {
  endpoint: string;
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK with an OTLP/HTTP exporter when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else does nothing: the spans the
 * code starts through `@opentelemetry/api` then stay non-recording. The SDK
 * is imported only here, so a process without the variable never loads it.
 * The exporter reads the rest of the standard `OTEL_EXPORTER_OTLP_*`
 * variables itself; the service name is `OTEL_SERVICE_NAME`, else `name`.
 */
export async function startTracing(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return undefined;
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || name }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // Global tracer provider, AsyncLocalStorage context and the W3C propagator.
  provider.register();
  return { endpoint, shutdown: () => provider.shutdown() };
}
