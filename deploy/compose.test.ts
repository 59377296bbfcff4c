import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import examples from '@refract/examples';
import { REPO_ROOT } from '@refract/testing';
import { expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs here (CI checks the file with `docker-compose
// config`): this reads docker-compose.yml as the images' module would be run
// by it, so a pool of the examples left without a worker shows here.

interface Service {
  build?: { target?: string };
  image?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
  healthcheck?: unknown;
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as { services: Record<string, Service> };
const workers = Object.entries(compose.services).filter(
  ([, service]) => service.build?.target === 'projector-worker',
);

/** `${NAME:-default}` as compose reads it with NAME unset. */
const unset = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

it("runs a worker for each pool of the images' module, reactors' pools included", () => {
  const pools = workers.map(([, service]) => service.environment?.POOL);
  expect(pools.toSorted()).toEqual([...examples.pools].sort());
  expect(examples.reactorsOf('notices').map((r) => r.name)).toEqual(['shipping_notices']);
});

it('sends the reactors of a pool to a webhook the compose file runs, healthy before the worker starts', () => {
  for (const [name, service] of workers) {
    if (examples.reactorsOf(service.environment?.POOL ?? '').length === 0) continue;
    const url = new URL(unset(service.environment?.WEBHOOK_SINK_URL ?? ''), 'invalid:/');
    const sink = compose.services[url.hostname];
    expect(sink, `${name}: WEBHOOK_SINK_URL names ${url.hostname}`).toBeDefined();
    expect(sink?.healthcheck, url.hostname).toBeDefined();
    expect(service.depends_on?.[url.hostname], name).toEqual({ condition: 'service_healthy' });
    expect(JSON.stringify(sink), `${url.hostname} listens on ${url.port}`).toContain(
      `listen(${url.port}`,
    );
  }
});
