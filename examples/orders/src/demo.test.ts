import type { DemoCommand } from '@refract/core';
import { describe, expect, it } from 'vitest';
import { ordersApp } from './app.js';
import { ID_PATTERN } from './commands.js';
import { ordersDemo } from './demo.js';
import { type OrderCommand, type OrderState, orderDecider } from './order-decider.js';

function take(count: number, options = { seed: 7, runId: 'run1' }): DemoCommand[] {
  const commands: DemoCommand[] = [];
  const iterator = ordersDemo.commands(options);
  while (commands.length < count) {
    const next = iterator.next();
    if (next.done) throw new Error('the demo traffic ended');
    commands.push(next.value);
  }
  return commands;
}

const routes = new Map(ordersApp.commands.map((route) => [route.type, route]));

describe('ordersDemo', () => {
  it('is the demo traffic of ordersApp', () => {
    expect(ordersApp.demos).toEqual([ordersDemo]);
    expect(ordersDemo.name).toBe('orders');
  });

  it('yields commands the routes parse and the decider accepts, order by order', () => {
    // 25,000 crosses the first chunk boundary (20,000 events).
    const states = new Map<string, OrderState>();
    for (const command of take(25_000)) {
      const route = routes.get(command.type);
      if (!route) throw new Error(`no route for ${command.type}`);
      const parsed = route.parse(command.body) as OrderCommand;
      expect(parsed.orderId).toMatch(ID_PATTERN);
      const state = states.get(parsed.orderId) ?? orderDecider.initialState();
      const events = orderDecider.decide(parsed, state);
      for (const event of events) expect(ordersApp.checkEvent(event, 'event')).toBe(1);
      states.set(
        parsed.orderId,
        events.reduce((s, e) => orderDecider.evolve(s, e), state),
      );
    }
    const statuses = [...states.values()].map((s) => s.status);
    expect(statuses.filter((s) => s === 'shipped').length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 'cancelled').length).toBeGreaterThan(0);
    // The second chunk places new orders rather than reusing the first chunk's ids.
    expect(states.size).toBeGreaterThan(1_000);
  });

  it('is the same for the same seed, with order ids unique to the run', () => {
    expect(take(500)).toEqual(take(500));
    const other = take(500, { seed: 7, runId: 'run2' });
    expect(other.map((c) => c.type)).toEqual(take(500).map((c) => c.type));
    expect(other[0]!.body.orderId).not.toBe(take(1)[0]!.body.orderId);
    expect(take(500, { seed: 8, runId: 'run1' })).not.toEqual(take(500));
  });

  it('interleaves orders (many open at once)', () => {
    const firstTen = new Set(take(10).map((c) => c.body.orderId));
    expect(firstTen.size).toBeGreaterThan(5);
  });

  it('leaves placedAt to the write API', () => {
    const placed = take(100).filter((c) => c.type === 'PlaceOrder');
    expect(placed.length).toBeGreaterThan(0);
    for (const command of placed)
      expect(Object.keys(command.body)).toEqual(['orderId', 'customerId']);
  });
});
