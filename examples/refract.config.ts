// Both example domains in one stack, each in a pool of its own (`orders`,
// `bank`): `pnpm start --config examples/refract.config.ts`.
import { composeApps } from '@refract/core';
import { bankApp } from '@refract/example-bank';
import { ordersApp } from '@refract/example-orders';

export default composeApps('examples', ordersApp, bankApp);
