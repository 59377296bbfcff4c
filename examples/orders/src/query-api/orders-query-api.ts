import { defineQueryApi } from '@refract/read-your-writes';
import type { FastifyReply } from 'fastify';
import { ID_MAX_LENGTH, ID_PATTERN } from '../commands.js';
import { orderStreamId } from '../events.js';
import { readCustomerStats, readOrderSummary } from './read-models.js';

function invalidId(reply: FastifyReply, field: string) {
  return reply.code(400).send({
    error: 'invalid_request',
    message: `${field} must be 1 to ${ID_MAX_LENGTH} characters of letters, digits and _ . : @ -`,
    field,
  });
}

const validId = (value: string) =>
  value.length > 0 && value.length <= ID_MAX_LENGTH && ID_PATTERN.test(value);

/**
 * The orders read API: an order's summary and a customer's statistics, each
 * with read-your-writes (`?minPosition=&timeoutMs=`) through the route's
 * `config.readYourWrites`, which the query-api service's plugin honours.
 */
export const ordersQueryApi = defineQueryApi('orders', async (server, { db }) => {
  // Ids are checked before the read-your-writes wait (a preHandler) looks at them.
  server.addHook('preValidation', async (request, reply) => {
    for (const [field, value] of Object.entries(request.params as Record<string, string>)) {
      if (!validId(value)) return invalidId(reply, field);
    }
  });

  server.get<{ Params: { orderId: string } }>(
    '/orders/:orderId',
    {
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

  server.get<{ Params: { customerId: string } }>(
    '/customers/:customerId/stats',
    {
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
