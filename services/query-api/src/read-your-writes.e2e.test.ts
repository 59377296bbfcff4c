import { migrate } from '@refract/event-store';
import {
  createTestDatabase,
  createTestRedisNamespace,
  freePort,
  type ServiceProcess,
  serviceMain,
  startServiceProcess,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let db: TestDatabase;
let ns: TestRedisNamespace;
const services: ServiceProcess[] = [];
let writeApi: string;
let queryApi: string;

beforeAll(async () => {
  db = await createTestDatabase('read_your_writes');
  ns = createTestRedisNamespace('ryw');
  await migrate({ databaseUrl: db.url, partitions: 8 });
  const shared = {
    DATABASE_URL: db.url,
    REDIS_URL: ns.url,
    REDIS_KEY_PREFIX: ns.prefix,
    // Every service runs the orders example (the processes start in the repository root).
    REFRACT_CONFIG: 'examples/orders/refract.config.ts',
  };
  const [writePort, queryPort, workerPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
  ]);
  writeApi = `http://127.0.0.1:${writePort}`;
  queryApi = `http://127.0.0.1:${queryPort}`;
  services.push(
    await startServiceProcess(
      serviceMain('write-api'),
      { ...shared, WRITE_API_PORT: String(writePort), WRITE_API_HOST: '127.0.0.1' },
      `${writeApi}/readyz`,
    ),
    await startServiceProcess(
      serviceMain('projector-worker'),
      { ...shared, POOL: 'orders', WORKER_PORT: String(workerPort), WORKER_HOST: '127.0.0.1' },
      `http://127.0.0.1:${workerPort}/readyz`,
    ),
    await startServiceProcess(
      serviceMain('query-api'),
      { ...shared, QUERY_API_PORT: String(queryPort), QUERY_API_HOST: '127.0.0.1' },
      `${queryApi}/readyz`,
    ),
  );
}, 120_000);

afterAll(async () => {
  for (const service of services) expect(await service.stop()).toBe(0);
  await ns?.cleanup();
  await db?.drop();
});

async function command(type: string, body: Record<string, unknown>) {
  const response = await fetch(`${writeApi}/commands/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { position: number };
}

describe('read-your-writes through the whole stack', () => {
  it('a query with the position a command returned sees the command’s effect', async () => {
    await command('PlaceOrder', { orderId: 'ryw-1', customerId: 'customer-ryw' });
    await command('AddItem', { orderId: 'ryw-1', sku: 'sku-1', qty: 2, unitPrice: '10.25' });
    const { position } = await command('ShipOrder', { orderId: 'ryw-1', trackingNumber: 'T-1' });

    const order = await fetch(`${queryApi}/orders/ryw-1?minPosition=${position}&timeoutMs=10000`);
    expect(order.status).toBe(200);
    expect(await order.json()).toMatchObject({
      orderId: 'ryw-1',
      customerId: 'customer-ryw',
      status: 'shipped',
      itemCount: 1,
      total: '20.50',
      position,
    });
    const stats = await fetch(
      `${queryApi}/customers/customer-ryw/stats?minPosition=${position}&timeoutMs=10000`,
    );
    expect(await stats.json()).toEqual({
      customerId: 'customer-ryw',
      ordersPlaced: 1,
      ordersShipped: 1,
      ordersCancelled: 0,
      lifetimeValue: '20.50',
    });
  });

  it('answers 504 not_caught_up for a position that is never reached', async () => {
    await command('PlaceOrder', { orderId: 'ryw-2', customerId: 'customer-ryw' });
    const response = await fetch(`${queryApi}/orders/ryw-2?minPosition=999999999&timeoutMs=300`);
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: 'not_caught_up' });
  });
});
