import { createLogger, type LogLevel } from '@refract/observability';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { requestLoggerFactory } from './request-logger.js';

function parent(level: LogLevel) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level,
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger: logger as FastifyBaseLogger, lines, child: vi.spyOn(logger, 'child') };
}

describe('requestLoggerFactory', () => {
  it('makes no pino child for a request that logs nothing at an enabled level', () => {
    const { logger, lines, child } = parent('warn');
    const log = requestLoggerFactory(logger, { reqId: 'r1' }, {});
    log.info({ statusCode: 201 }, 'request completed');
    log.debug('detail');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    expect(log.level).toBe('warn');
  });

  it('writes enabled lines through one child with the request bindings', () => {
    const { logger, lines, child } = parent('info');
    const log = requestLoggerFactory(logger, { reqId: 'r2' }, {});
    log.info({ statusCode: 201 }, 'request completed');
    log.warn('again');
    expect(child).toHaveBeenCalledTimes(1);
    log.child({ step: 'x' }).error('nested');
    expect(lines.map((l) => [l.reqId, l.msg])).toEqual([
      ['r2', 'request completed'],
      ['r2', 'again'],
      ['r2', 'nested'],
    ]);
    expect(lines[0]!.statusCode).toBe(201);
    expect(lines[2]!.step).toBe('x');
  });

  it("keeps redacting: a secret in a request line's object is censored", () => {
    const { logger, lines } = parent('info');
    requestLoggerFactory(logger, { reqId: 'r3' }, {}).info({ password: 'hunter2' }, 'login');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  it('a route level of its own makes the child at once, and it decides', () => {
    const { logger, lines } = parent('warn');
    const log = requestLoggerFactory(logger, { reqId: 'r4' }, { level: 'debug' });
    log.debug('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });
});
