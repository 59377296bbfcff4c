import { fileURLToPath } from 'node:url';
import { loadApp } from '@refract/app-loader';
import { isCounterProjection } from '@refract/core';
import { describe, expect, it } from 'vitest';

const examples = fileURLToPath(new URL('../../', import.meta.url));

describe('examples/refract.config.ts', () => {
  it('runs both example domains in one stack, each in its own pool', async () => {
    const app = await loadApp('refract.config.ts', examples);
    expect(app.name).toBe('examples');
    expect(app.pools).toEqual(['orders', 'bank', 'notices']);
    expect(app.reactorsOf('notices').map((r) => r.name)).toEqual(['shipping_notices']);
    const names = (pool: string) => app.projectionsOf(pool).map((p) => p.name);
    expect(names('orders')).toEqual(['order_summary', 'customer_stats']);
    expect(names('bank')).toEqual(['account_balances', 'bank_activity']);
    expect(isCounterProjection(app.projection('bank_activity')!)).toBe(true);
    expect(app.demos.map((demo) => demo.name)).toContain('bank');
    expect(app.commands.map((c) => c.type)).toEqual(
      expect.arrayContaining(['PlaceOrder', 'OpenAccount', 'Transfer']),
    );
    expect(app.events.size).toBe(4 + 5);
  });

  it('loads the bank on its own from examples/bank/refract.config.ts', async () => {
    const app = await loadApp('bank/refract.config.ts', examples);
    expect(app.name).toBe('bank');
    expect(app.pools).toEqual(['bank']);
  });
});
