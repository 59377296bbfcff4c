import { access } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AppDefinition, defineApp, isRefractApp, type RefractApp } from '@refract/core';

/** Looked for in the working directory when neither `--config` nor REFRACT_CONFIG names a module. */
export const DEFAULT_CONFIG_FILES = [
  'refract.config.ts',
  'refract.config.mts',
  'refract.config.js',
  'refract.config.mjs',
] as const;

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** The module cannot be loaded or is not an application; the message names the file and the item. */
export class AppLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppLoadError';
  }
}

/**
 * The `--config <path>` (or `--config=<path>`) of a command line, if any:
 * every service and the CLI accept it, ahead of REFRACT_CONFIG.
 */
export function configArgument(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--config') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) {
        throw new AppLoadError('--config needs a path to the application module');
      }
      return value;
    }
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

/** How a service's caller names the application module, ahead of REFRACT_CONFIG. */
export interface AppChoice {
  /** The module's path, as the `refract` CLI parsed its `--config`; wins over `argv`. */
  appPath?: string;
  /** A command line to read `--config <path>` from. @defaultValue process.argv */
  argv?: readonly string[];
}

/**
 * The module a service runs: `appPath`, else the `--config` of `argv`, else
 * `fromEnv` (its REFRACT_CONFIG); undefined means the default file in the
 * working directory (resolveAppPath). Throws an AppLoadError for a
 * `--config` without a path.
 */
export function chosenAppPath(choice: AppChoice, fromEnv: string | undefined): string | undefined {
  return choice.appPath ?? configArgument(choice.argv ?? process.argv) ?? fromEnv;
}

/** Which module to load: the given path, or the first default file found in `cwd`. */
export async function resolveAppPath(path: string | undefined, cwd: string): Promise<string> {
  if (path !== undefined && path !== '') {
    const absolute = resolve(cwd, path);
    if (!(await exists(absolute))) {
      throw new AppLoadError(`application module ${absolute} does not exist`);
    }
    return absolute;
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const candidate = resolve(cwd, name);
    if (await exists(candidate)) return candidate;
  }
  throw new AppLoadError(
    `no application module: pass --config <path>, set REFRACT_CONFIG, or create ${DEFAULT_CONFIG_FILES[0]} in ${cwd}`,
  );
}

/**
 * Loads the application module: its default export, made with `defineApp`
 * (a plain definition object is checked the same way). TypeScript modules
 * load through tsx, so a user's `refract.config.ts` needs no build step.
 * Everything is checked before any service opens a connection.
 */
export async function loadApp(path?: string, cwd = process.cwd()): Promise<RefractApp> {
  const file = await resolveAppPath(path, cwd);
  let module: Record<string, unknown>;
  try {
    module = await importModule(file);
  } catch (error) {
    if (error instanceof AppLoadError) throw error;
    if (isConfigError(error)) throw new AppLoadError(`${file}: ${error.message}`, { cause: error });
    throw new AppLoadError(`cannot load ${file}: ${(error as Error).message}`, { cause: error });
  }
  const exported = module.default ?? module.app;
  if (exported === undefined) {
    throw new AppLoadError(
      `${file} exports no application: end it with \`export default defineApp({ ... })\``,
    );
  }
  if (isRefractApp(exported)) return exported;
  if (typeof exported !== 'object' || exported === null) {
    throw new AppLoadError(
      `${file}: the default export is not an application (defineApp({ ... }))`,
    );
  }
  try {
    return defineApp(exported as AppDefinition);
  } catch (error) {
    throw new AppLoadError(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.has(extname(file))) {
    const { tsImport } = await importTsx(file);
    return (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/**
 * tsx is an optional peer: a production install (a container image, `npm i
 * --omit=dev`) runs built JavaScript and carries no TypeScript loader.
 */
async function importTsx(file: string): Promise<typeof import('tsx/esm/api')> {
  try {
    return await import('tsx/esm/api');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new AppLoadError(
      `${file} is TypeScript, and loading TypeScript needs tsx, which is not installed here: ` +
        'build the module to JavaScript and point --config (REFRACT_CONFIG) at the .js file, ' +
        'or install tsx beside @refract/app-loader (npm i tsx)',
      { cause: error },
    );
  }
}

/** AppConfigError, recognised by name: the module may hold its own copy of @refract/core. */
function isConfigError(error: unknown): error is Error & { problems: string[] } {
  return error instanceof Error && error.name === 'AppConfigError';
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
