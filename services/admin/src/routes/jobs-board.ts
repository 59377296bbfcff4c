import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

/** Where bull-board is mounted; its pages take HTTP Basic auth with the admin token as password. */
export const JOBS_BOARD_PATH = '/jobs-board';

/**
 * bull-board over the rebuild queue, for looking into BullMQ itself (retries,
 * stalls, raw job data). Behind the same token as the API; a browser cannot
 * send a bearer header, so Basic auth is accepted here (see auth.ts).
 */
export async function registerJobsBoard(app: FastifyInstance, queue: Queue): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(JOBS_BOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter });
  await app.register(serverAdapter.registerPlugin(), { prefix: JOBS_BOARD_PATH });
}
