import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppLoadError, chosenAppPath, configArgument, loadApp } from './load-app.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

describe('loadApp', () => {
  it('loads a TypeScript module through tsx', async () => {
    const app = await loadApp('valid.config.ts', fixtures);
    expect(app.name).toBe('fixture');
    expect(app.projectionsOf('ping').map((p) => p.name)).toEqual(['pings']);
  });

  it('loads a JavaScript module whose export is a plain definition', async () => {
    const app = await loadApp('plain.config.mjs', fixtures);
    expect(app.name).toBe('plain');
  });

  it('names a file that does not exist', async () => {
    await expect(loadApp('missing.config.ts', fixtures)).rejects.toThrow(
      /application module .*missing\.config\.ts does not exist/,
    );
  });

  it('names a module that exports nothing', async () => {
    await expect(loadApp('nothing.config.ts', fixtures)).rejects.toThrow(
      /nothing\.config\.ts exports no application/,
    );
  });

  it('reports the configuration problems with the file', async () => {
    const error = await loadApp('invalid.config.ts', fixtures).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppLoadError);
    expect((error as Error).message).toMatch(/invalid\.config\.ts: invalid application module/);
    expect((error as Error).message).toMatch(/two projections are named twice/);
  });

  it('without a path, says how to name one', async () => {
    await expect(loadApp(undefined, fixtures)).rejects.toThrow(/pass --config <path>/);
  });
});

describe('configArgument', () => {
  it('reads --config in both spellings, or nothing', () => {
    expect(configArgument(['worker', '--config', 'a.ts'])).toBe('a.ts');
    expect(configArgument(['--config=b.ts'])).toBe('b.ts');
    expect(configArgument(['--pool', 'x'])).toBeUndefined();
    expect(() => configArgument(['--config'])).toThrow(/needs a path/);
  });
});

describe('chosenAppPath', () => {
  it('takes the given path, else --config, else the environment', () => {
    const argv = ['node', 'main.js', '--config', 'argv.ts'];
    expect(chosenAppPath({ appPath: 'given.ts', argv }, 'env.ts')).toBe('given.ts');
    expect(chosenAppPath({ argv }, 'env.ts')).toBe('argv.ts');
    expect(chosenAppPath({ argv: ['node', 'main.js'] }, 'env.ts')).toBe('env.ts');
    expect(chosenAppPath({ argv: [] }, undefined)).toBeUndefined();
  });
});
