import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from './redis-url.js';

describe('parseRedisUrl', () => {
  it('passes one-server URLs through as they are', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({
      cluster: false,
      url: 'redis://127.0.0.1:6379/2',
    });
    expect(parseRedisUrl('rediss://u:p@cache:6380').cluster).toBe(false);
  });

  it('reads the seed nodes, credentials and TLS of a cluster URL', () => {
    expect(parseRedisUrl('redis+cluster://a:7000,10.0.0.2:7001,[::1]:7002')).toEqual({
      cluster: true,
      nodes: [
        { host: 'a', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
    });
    expect(parseRedisUrl('rediss+cluster://app:p%40ss@a:7000/')).toEqual({
      cluster: true,
      nodes: [{ host: 'a', port: 7000 }],
      username: 'app',
      password: 'p@ss',
      tls: true,
    });
    expect(parseRedisUrl('redis+cluster://:secret@a:7000')).toMatchObject({ password: 'secret' });
  });

  it('refuses other forms without echoing the URL', () => {
    for (const url of [
      'http://a:1',
      'redis+cluster://',
      'redis+cluster://a:7000/1',
      'redis+cluster://a:7000,,b:7001',
      'redis+cluster://a',
      'redis+cluster://a:70000',
      'redis+cluster://u:%zz@a:7000',
      'redis+sentinel://a:7000',
    ]) {
      expect(() => parseRedisUrl(url), url).toThrow(/^must /);
    }
  });
});
