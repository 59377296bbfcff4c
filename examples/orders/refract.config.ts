// The application module of the orders example: `pnpm start --config examples/orders/refract.config.ts`.
import { ordersApp } from '@refract/example-orders';

export default ordersApp;
