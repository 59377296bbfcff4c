import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  commandRoute,
  type DemoCommand,
  type DemoTraffic,
  defineDecider,
  InvalidInputError,
} from '@refract/core';
import { createLogger } from '@refract/observability';
import { eventually } from '@refract/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { demoCommands, startDemoTraffic, streamOfCommand } from './demo-traffic.js';

/**
 * A demo of the test's own: tickets opened, commented on twice, closed,
 * `open` of them at a time. Seeded, and unique to its run, as the
 * DemoTraffic contract asks.
 */
function ticketsDemo(open = 5): DemoTraffic {
  return {
    name: 'tickets',
    *commands({ seed, runId }) {
      const steps = new Map<number, number>();
      let next = 0;
      let state = seed;
      for (;;) {
        while (steps.size < open) steps.set(next++, 0);
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        const ids = [...steps.keys()];
        const id = ids[state % ids.length]!;
        const step = steps.get(id)!;
        const ticketId = `${runId}-${id}`;
        const type = step === 0 ? 'Open' : step < 3 ? 'Comment' : 'Close';
        yield { type, body: { ticketId, ...(type === 'Comment' ? { n: step } : {}) } };
        if (type === 'Close') steps.delete(id);
        else steps.set(id, step + 1);
      }
    },
  };
}

/** A finite demo, to see the turns and the end. */
const pings = (count: number): DemoTraffic => ({
  name: 'pings',
  *commands() {
    for (let i = 0; i < count; i++) yield { type: 'Ping', body: { i } };
  },
});

function take(demos: DemoTraffic[], count: number, runId = 'run1'): DemoCommand[] {
  const commands: DemoCommand[] = [];
  for (const command of demoCommands(demos, { seed: 7, runId })) {
    commands.push(command);
    if (commands.length === count) break;
  }
  return commands;
}

describe('demoCommands', () => {
  it('takes one command from each demo in turn; a demo that ends drops out', () => {
    const commands = take([pings(2), ticketsDemo()], 5);
    expect(commands.map((c) => (c.type === 'Ping' ? 'pings' : 'tickets'))).toEqual([
      'pings',
      'tickets',
      'pings',
      'tickets',
      'tickets',
    ]);
    expect(take([pings(3)], 10)).toHaveLength(3);
  });

  it('is the same for the same seed, with ids of its run', () => {
    expect(take([ticketsDemo()], 200)).toEqual(take([ticketsDemo()], 200));
    expect(take([ticketsDemo()], 1, 'run2')[0]!.body.ticketId).toMatch(/^run2-/);
  });
});

describe('streamOfCommand', () => {
  const noop = defineDecider<unknown, { type: 'Never'; data: { n: number } }, null>({
    name: 'noop',
    initialState: () => null,
    evolve: (state) => state,
    decide: () => [],
  });
  const route = commandRoute({
    type: 'Open',
    parse: (input) => {
      const ticketId = (input as { ticketId?: unknown }).ticketId;
      if (typeof ticketId !== 'string') throw new InvalidInputError('ticketId', 'is required');
      return { ticketId };
    },
    streamId: (command: { ticketId: string }) => `ticket-${command.ticketId}`,
    decider: noop,
  });

  it("names a command's stream by the application's route, and none when it does not parse", () => {
    const streamOf = streamOfCommand([route]);
    expect(streamOf({ type: 'Open', body: { ticketId: 't1' } })).toBe('ticket-t1');
    expect(streamOf({ type: 'Open', body: { ticketId: 1 } })).toBeUndefined();
    expect(streamOf({ type: 'Unknown', body: { ticketId: 't1' } })).toBeUndefined();
  });
});

describe('startDemoTraffic', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends no faster than the rate, one stream at a time, and counts the answers', {
    timeout: 90_000,
  }, async () => {
    const seen = new Map<string, string[]>();
    const active = new Set<string>();
    let overlapping = 0;
    let untagged = 0;
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const { ticketId } = JSON.parse(body) as { ticketId: string };
        if (!String(request.headers['x-request-id']).startsWith('demo-t-')) untagged++;
        if (active.has(ticketId)) overlapping++;
        active.add(ticketId);
        seen.set(ticketId, [...(seen.get(ticketId) ?? []), request.url ?? '']);
        // Every fifth Comment is refused, to see the count.
        const refuse = request.url === '/commands/Comment' && Math.random() < 0.2;
        setTimeout(() => {
          active.delete(ticketId);
          response.writeHead(refuse ? 422 : 200, { 'content-type': 'application/json' });
          response.end(refuse ? '{"error":"rule_violated"}' : '{}');
        }, 5);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const lines: string[] = [];
    const logger = createLogger({
      service: 'test',
      destination: { write: (line: string) => lines.push(line) },
    });

    const demo = startDemoTraffic({
      baseUrl: `http://127.0.0.1:${port}`,
      demos: [ticketsDemo(4)],
      streamOf: (command) => String(command.body.ticketId),
      ratePerSecond: 200,
      seed: 1,
      runId: 't',
      statusIntervalMs: 200,
      logger,
    });
    // Run until a fair number went out, however slow the machine is; the
    // rate is checked as a ceiling, which holds under any load (a floor
    // would be a timed assertion).
    const started = performance.now();
    await eventually(
      () => {
        expect(demo.stats().sent).toBeGreaterThanOrEqual(40);
        expect(lines.filter((l) => l.includes('"sent"')).length).toBeGreaterThanOrEqual(3);
      },
      { timeoutMs: 60_000 },
    );
    await demo.close();
    const elapsedSeconds = (performance.now() - started) / 1000;
    const stats = demo.stats();

    expect(stats.sent).toBeLessThanOrEqual(Math.ceil(200 * elapsedSeconds) + 20);
    expect(stats.ok + stats.refused).toBe(stats.sent);
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.errors).toBe(0);
    expect(overlapping).toBe(0);
    expect(untagged).toBe(0);
    for (const urls of seen.values()) expect(urls[0]).toBe('/commands/Open');
    const status = lines.map((l) => JSON.parse(l)).filter((l) => 'sent' in l);
    expect(status.length).toBeGreaterThanOrEqual(3);
    expect(status.at(-1)).toMatchObject({ sent: stats.sent, refused: stats.refused });
    expect(lines.map((l) => JSON.parse(l)).find((l) => 'demos' in l)).toMatchObject({
      demos: ['tickets'],
    });
    await demo.close(); // idempotent
  });
});
