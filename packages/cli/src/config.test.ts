import { describe, expect, it } from 'vitest';
import { loadCliConfig } from './config.js';

describe('loadCliConfig', () => {
  it("finds the dev stack's token where the command is typed, as refract dev keeps it", () => {
    expect(loadCliConfig({ INIT_CWD: '/home/me/shop' }).devTokenFile).toBe(
      '/home/me/shop/.refract/admin-token',
    );
    expect(
      loadCliConfig({ INIT_CWD: '/home/me/shop', REFRACT_DATA_DIR: 'state' }).devTokenFile,
    ).toBe('/home/me/shop/state/admin-token');
    expect(loadCliConfig({ REFRACT_DATA_DIR: '/var/refract' }).devTokenFile).toBe(
      '/var/refract/admin-token',
    );
  });
});
