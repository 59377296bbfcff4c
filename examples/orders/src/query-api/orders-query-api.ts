import { defineQueryApi } from '@refract/read-your-writes';
import { z } from 'zod';
import { ID_MAX_LENGTH, ID_PATTERN } from '../commands.js';
import { orderStreamId } from '../events.js';
import { readCustomerStats, readOrderSummary } from './read-models.js';

const ID_RULE = `must be 1 to ${ID_MAX_LENGTH} characters of letters, digits and _ . : @ -`;
/** An order or customer id in a path. */
const id = z.string().min(1, ID_RULE).max(ID_MAX_LENGTH, ID_RULE).regex(ID_PATTERN, ID_RULE);

/**
 * The orders read API: an order's summary and a customer's statistics, each
 * with read-your-writes (`?minPosition=&timeoutMs=`) through the route's
 * `config.readYourWrites`, which the query-api service's plugin honours.
 */
export const ordersQueryApi = defineQueryApi('orders', async (server, { db }) => {
  // The params schemas check ids before the read-your-writes wait looks at them.
  server.get(
    '/orders/:orderId',
    {
      schema: { params: z.strictObject({ orderId: id }) },
      config: {
        // An order is one stream: the wait is for its events, in its partition.
        readYourWrites: {
          projection: 'order_summary',
          streamId: (request) => orderStreamId((request.params as { orderId: string }).orderId),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const order = await readOrderSummary(db, orderId);
      if (!order) {
        return reply
          .code(404)
          .send({ error: 'order_not_found', message: `order ${orderId} does not exist`, orderId });
      }
      return order;
    },
  );

  server.get(
    '/customers/:customerId/stats',
    {
      schema: { params: z.strictObject({ customerId: id }) },
      config: {
        // A customer's orders are streams of every partition, and a position
        // names no customer: every partition must have applied it.
        readYourWrites: { projection: 'customer_stats' },
      },
    },
    async (request, reply) => {
      const { customerId } = request.params;
      const stats = await readCustomerStats(db, customerId);
      if (!stats) {
        return reply.code(404).send({
          error: 'customer_not_found',
          message: `customer ${customerId} has no orders`,
          customerId,
        });
      }
      return stats;
    },
  );
});
