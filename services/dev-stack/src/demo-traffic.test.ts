import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  addItemRoute,
  cancelOrderRoute,
  ID_PATTERN,
  type OrderCommand,
  type OrderState,
  orderDecider,
  placeOrderRoute,
  shipOrderRoute,
} from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { eventually } from '@refract/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type DemoCommand, demoCommands, startDemoTraffic } from './demo-traffic.js';

const routes = {
  PlaceOrder: placeOrderRoute,
  AddItem: addItemRoute,
  ShipOrder: shipOrderRoute,
  CancelOrder: cancelOrderRoute,
};

function take(count: number, options = { seed: 7, openOrders: 50, runId: 'run1' }): DemoCommand[] {
  const commands: DemoCommand[] = [];
  for (const command of demoCommands(options)) {
    commands.push(command);
    if (commands.length === count) break;
  }
  return commands;
}

describe('demoCommands', () => {
  it('yields commands the API parses and the decider accepts, order by order', () => {
    // 25,000 crosses the first chunk boundary (20,000 events).
    const commands = take(25_000);
    const states = new Map<string, OrderState>();
    for (const command of commands) {
      expect(command.orderId).toMatch(ID_PATTERN);
      const parsed = routes[command.type].parse(command.body) as OrderCommand;
      const state = states.get(command.orderId) ?? orderDecider.initialState();
      const events = orderDecider.decide(parsed, state);
      states.set(
        command.orderId,
        events.reduce((s, e) => orderDecider.evolve(s, e), state),
      );
    }
    const statuses = [...states.values()].map((s) => s.status);
    expect(statuses.filter((s) => s === 'shipped').length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 'cancelled').length).toBeGreaterThan(0);
  });

  it('is the same for the same seed, with order ids unique to the run', () => {
    expect(take(500)).toEqual(take(500));
    const other = take(500, { seed: 7, openOrders: 50, runId: 'run2' });
    expect(other.map((c) => c.type)).toEqual(take(500).map((c) => c.type));
    expect(other[0]!.orderId).not.toBe(take(1)[0]!.orderId);
  });

  it('interleaves orders (many open at once)', () => {
    const firstTen = new Set(take(10).map((c) => c.orderId));
    expect(firstTen.size).toBeGreaterThan(5);
  });
});

describe('startDemoTraffic', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends no faster than the rate, one order at a time, and counts the answers', {
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
        const { orderId } = JSON.parse(body) as { orderId: string };
        if (!String(request.headers['x-request-id']).startsWith('demo-t-')) untagged++;
        if (active.has(orderId)) overlapping++;
        active.add(orderId);
        seen.set(orderId, [...(seen.get(orderId) ?? []), request.url ?? '']);
        // Every fifth AddItem is refused, to see the count.
        const refuse = request.url === '/commands/AddItem' && Math.random() < 0.2;
        setTimeout(() => {
          active.delete(orderId);
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
      ratePerSecond: 200,
      seed: 1,
      openOrders: 20,
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
    for (const urls of seen.values()) expect(urls[0]).toBe('/commands/PlaceOrder');
    const status = lines.map((l) => JSON.parse(l)).filter((l) => 'sent' in l);
    expect(status.length).toBeGreaterThanOrEqual(3);
    expect(status.at(-1)).toMatchObject({ sent: stats.sent, refused: stats.refused });
    await demo.close(); // idempotent
  });
});
